/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lunatik-rs configuration of Lua 5.5, shared by the kernel module and the
 * host build used by `cargo test`.
 *
 * The build copies Lua's own luaconf.h next to this file as
 * luaconf.upstream.h; this file includes it and then overrides what the
 * kernel needs, so every difference from stock Lua is listed here (and in
 * lua/lua-kernel.patch for the few that no macro reaches).
 *
 * Integer-only numbers: lua_Number is lua_Integer (64-bit). No value ever
 * carries the float tag (the patch makes setfltvalue store an integer), so
 * math.type() never says "float", tostring() prints integers, and no FPU
 * instruction is emitted. '/' is floor division, like '//'. Division or
 * modulo by zero raises an error. Literals with a decimal point or exponent
 * do not compile.
 */
#ifndef LUNATIK_LUACONF_H
#define LUNATIK_LUACONF_H

#include "luaconf.upstream.h"

/*
 * The functions that raise errors never return; saying so lets objtool
 * (and the compiler) see the control flow of their callers.
 */
#define LUNATIK_NORETURN	__attribute__((noreturn))

/* Guards the float-only code paths in lua/lua-5.5.1-kernel.patch. */
#define LUNATIK_NOFLOAT

/* Numbers are 64-bit integers. */
#undef LUA_NUMBER
#define LUA_NUMBER		LUA_INTEGER
#undef LUAI_UACNUMBER
#define LUAI_UACNUMBER		LUAI_UACINT
#undef LUA_NUMBER_FRMLEN
#define LUA_NUMBER_FRMLEN	LUA_INTEGER_FRMLEN
#undef LUA_NUMBER_FMT
#define LUA_NUMBER_FMT		LUA_INTEGER_FMT
#undef LUA_NUMBER_FMT_N
#define LUA_NUMBER_FMT_N	LUA_INTEGER_FMT
#undef LUAI_NUMFFORMAT
#define LUAI_NUMFFORMAT		LUA_INTEGER_FMT
#undef lua_number2str
#define lua_number2str(s,sz,n)	\
	l_sprintf((s), sz, LUA_INTEGER_FMT, (LUAI_UACINT)(n))
/* llimits.h keeps its float range check only if this is undefined. */
#undef lua_numbertointeger
#define lua_numbertointeger(n,p)	((*(p) = (LUA_INTEGER)(n)), 1)
/* The hook mask and trap flag: no signal handler ever touches them. */
#define l_signalT		int
#undef l_floor
#define l_floor(x)		(x)
#undef l_mathop
#define l_mathop(op)		(lua_Number)op
/* "Float" attributes of a 64-bit integer, for the few generic uses left. */
#undef l_floatatt
#define l_floatatt(n)		(LUNATIK_INT_##n)
#define LUNATIK_INT_MANT_DIG	64
#define LUNATIK_INT_DIG		18
#define LUNATIK_INT_MAX_10_EXP	18

/*
 * No string is ever read as a float: numerals with '.', an exponent or a
 * hexadecimal fraction are rejected ("malformed number").
 */
#undef lua_str2number
#define lua_str2number(s,p)	lunatik_str2number((s), (p))
#undef lua_strx2number
#define lua_strx2number(s,p)	lunatik_str2number((s), (p))
#undef lua_getlocaledecpoint
#define lua_getlocaledecpoint()	'.'

/*
 * Arithmetic that Lua would do in floating point: '/' and '^'.
 * Division by zero raises "attempt to perform 'n/0'"; a negative exponent
 * raises too, as its result would not be an integer.
 */
#define luai_numdiv(L,a,b)	lunatik_numdiv(L, a, b)
#define luai_numidiv(L,a,b)	lunatik_numdiv(L, a, b)
#define luai_numpow(L,a,b)	lunatik_numpow(L, a, b)
#define luai_nummod(L,a,b,m)	{ (m) = lunatik_nummod(L, a, b); }

struct lua_State;
long long lunatik_str2number(const char *s, char **endptr);
long long lunatik_numdiv(struct lua_State *L, long long a, long long b);
long long lunatik_nummod(struct lua_State *L, long long a, long long b);
long long lunatik_numpow(struct lua_State *L, long long a, long long b);

/*
 * Stack use: the kernel stack is 16 KiB and may be well used before Lua is
 * entered. Each entry bounds the bytes of C stack Lua may take below its
 * starting point (lua/lunatik_cstack.c, checked at every nested C call
 * and parser level); past it scripts get "C stack overflow". The count of
 * nested C calls stays as a second limit. Pattern matching recurses in C
 * without passing those checks, so its depth (MAXCCALLS in lstrlib.c) is
 * kept small. Buffers that live on the stack (luaL_Buffer) are small.
 */
void lunatik_cstack_check(struct lua_State *L);
unsigned long lunatik_stack_pointer(void);
#undef LUAI_MAXCCALLS
#define LUAI_MAXCCALLS		60
#define MAXCCALLS		32
#undef LUAL_BUFFERSIZE
#define LUAL_BUFFERSIZE		256
#undef LUA_IDSIZE
#define LUA_IDSIZE		60

/*
 * Work inside C library functions: the instruction budget counts Lua
 * instructions, so the loops of the string, table, utf8 and base
 * libraries, the lexer, concatenation and luaL_Buffer charge the entry
 * for the work they do (lua/account.rs, lunatik_work). One unit stands
 * for about one Lua instruction; LUNATIK_WORK_BYTES bytes copied or
 * scanned (memcpy, memchr), or LUNATIK_WORK_CHARS characters transformed
 * one at a time (upper, reverse, UTF-8 decoding), cost one unit. Past the
 * budget, or past the entry's wall-clock deadline, lunatik_work raises the
 * same error as the count hook.
 */
#define LUNATIK_WORK_BYTES	64
#define LUNATIK_WORK_CHARS	16
void lunatik_work(struct lua_State *L, long units);

/*
 * Coroutines: each thread has its own count of the hook, so at every
 * switch between a coroutine and the thread resuming or closing it the
 * patched lua_resume and lua_closethread charge the thread being left for
 * the instructions it ran since its count last restarted (`ran`), and
 * lunatik_switch (lua/account.rs) spends them, reads the deadline and
 * restarts the count of the thread being entered (`to`, may be NULL). It
 * never raises; past the budget or the deadline, `to` fails at its next
 * instruction.
 */
void lunatik_switch(struct lua_State *L, int ran, struct lua_State *to);

/*
 * States have no files: the base library leaves out dofile and loadfile
 * (the patch to lbaselib.c) instead of the sandbox removing them, which
 * would leave two dead keys in _G; Lua sizes a table with dead keys a
 * quarter larger on its next growth, and that doubled _G for one more
 * global (docs/states.md, idle state size).
 */
#define LUNATIK_NO_FILES

#ifdef LUNATIK_KERNEL
/*
 * Lua's interpreter loop dispatches with a switch, not computed gotos: objtool cannot
 * follow a jump table of label addresses, and with retpolines every such
 * indirect jump would go through a thunk anyway.
 */
#define LUA_USE_JUMPTABLE	0

/* Errors unwind with the project's own setjmp/longjmp (lua/setjmp_64.S). */
#include <setjmp.h>
#define LUAI_THROW(L,c)		lunatik_longjmp((c)->b, 1)
#define LUAI_TRY(L,c,f,ud)	if (lunatik_setjmp((c)->b) == 0) ((f)(L, ud))

/* Output of the stock print and warn functions goes to the kernel log. */
#define lua_writestring(s,l)	lunatik_writestring((s), (l))
#define lua_writeline()		lunatik_writestring("\n", 1)
#define lua_writestringerror(s,p)	lunatik_writestringerror((s), (p))
void lunatik_writestring(const char *s, unsigned long len);
void lunatik_writestringerror(const char *fmt, const char *p);

/*
 * lauxlib.c has a static function named panic, like the kernel's; by the
 * time this file is included the kernel's is declared, so Lua's is renamed.
 */
#define panic			lunatik_lua_panic

/* The seed of the string hash comes from the kernel RNG. */
#define luai_makeseed()		lunatik_makeseed()
unsigned int lunatik_makeseed(void);
#endif

#endif /* LUNATIK_LUACONF_H */
