// SPDX-License-Identifier: GPL-2.0
/*
 * A bound on the C stack Lua uses, in bytes, checked wherever Lua counts a
 * nested C call (the patch adds the call to ccall and luaE_incCstack).
 *
 * Counting C calls (LUAI_MAXCCALLS) is not enough in the kernel: the cost
 * of one level varies with the path (a pcall, a metamethod, a gsub
 * callback, a parser level) and the 16 KiB stack may be half used before
 * Lua is entered. So every entry marks a floor below the stack pointer it
 * starts from (lua/account.rs), and going under it raises "C stack
 * overflow" like Lua's own check. The error handler then runs with a
 * reserve below the floor; past the reserve the error becomes "error in
 * error handling" without calling any handler. Either way the stack
 * unwinds by longjmp to the entry's protected call.
 */
#include "lua.h"
#include "ldebug.h"
#include "ldo.h"

/* Room the message handler (the traceback) gets below the floor. */
#define LUNATIK_CSTACK_RESERVE	3072

/* The first fields of struct Account in lua/account.rs (repr(C)). */
struct lunatik_cstack {
	unsigned long floor;	/* lowest address Lua may use; 0: unbounded */
	int overflowed;		/* an overflow error is being handled */
};

void lunatik_cstack_check(lua_State *L)
{
	void *ud;
	struct lunatik_cstack *cs;
	unsigned long sp = (unsigned long)__builtin_frame_address(0);

	lua_getallocf(L, &ud);
	cs = ud;
	if (cs == NULL || sp >= cs->floor) {
		if (cs != NULL)
			cs->overflowed = 0;
		return;
	}
	if (!cs->overflowed) {
		cs->overflowed = 1;
		luaG_runerror(L, "C stack overflow");
	}
	if (sp < cs->floor - LUNATIK_CSTACK_RESERVE)
		luaD_errerr(L);
}
