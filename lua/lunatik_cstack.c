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
 * overflow" like Lua's own check. The error's message handler then runs
 * with a reserve below the floor; past the reserve the error becomes
 * "error in error handling" without calling any handler. Either way the
 * stack unwinds by longjmp to the nearest protected call.
 *
 * The reserve serves one overflow per entry. A script may catch the
 * error with pcall and recurse again: the reserve is then spent, and the
 * second dip under the floor fails at once with "error in error handling"
 * rather than running a handler in the reserve a second time. The entry's
 * next start (mark_stack in lua/account.rs) restores it.
 */
#include "lua.h"
#include "ldebug.h"
#include "ldo.h"

/* The first fields of struct Account in lua/account.rs (repr(C)). */
struct lunatik_cstack {
	unsigned long floor;	/* lowest address Lua may use; 0: unbounded */
	int overflowed;		/* enum lunatik_overflow */
	unsigned long lowest;	/* lowest stack pointer seen in the entry */
	unsigned long reserve;	/* room the first overflow's handler gets */
};

enum lunatik_overflow {
	LUNATIK_CSTACK_OK = 0,		/* no overflow in this entry */
	LUNATIK_CSTACK_HANDLING = 1,	/* the first one's handler may use the reserve */
	LUNATIK_CSTACK_SPENT = 2,	/* the reserve is spent until the next entry */
};

/*
 * The caller's stack pointer, near enough: the frame of this function.
 * Rust marks an entry's floor from it rather than from the address of a
 * local, which a sanitizer may move to a heap-allocated "fake stack".
 */
unsigned long lunatik_stack_pointer(void)
{
	return (unsigned long)__builtin_frame_address(0);
}

void lunatik_cstack_check(lua_State *L)
{
	void *ud;
	struct lunatik_cstack *cs;
	unsigned long sp = (unsigned long)__builtin_frame_address(0);

	lua_getallocf(L, &ud);
	cs = ud;
	if (cs == NULL || cs->floor == 0)
		return;
	if (sp < cs->lowest)
		cs->lowest = sp;
	if (sp >= cs->floor) {
		/* Back above the floor: the first overflow has been handled. */
		if (cs->overflowed == LUNATIK_CSTACK_HANDLING)
			cs->overflowed = LUNATIK_CSTACK_SPENT;
		return;
	}
	if (cs->overflowed == LUNATIK_CSTACK_OK) {
		cs->overflowed = LUNATIK_CSTACK_HANDLING;
		luaG_runerror(L, "C stack overflow");
	}
	if (cs->overflowed == LUNATIK_CSTACK_SPENT ||
	    sp < cs->floor - cs->reserve)
		luaD_errerr(L);
}
