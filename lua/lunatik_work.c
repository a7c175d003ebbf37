// SPDX-License-Identifier: GPL-2.0
/*
 * Copies and comparisons of byte runs for the patched Lua (the cost model
 * of lua/luaconf.h and docs/states.md), shared by the kernel module and
 * the host build. A long run goes in pieces of LUNATIK_WORK_PIECE bytes,
 * each charged to the entry before it is done, so that the clock is read
 * between two pieces: a copy of a string of any size stops within one
 * piece of its entry's deadline. lunatik_work may raise (a longjmp): the
 * callers are Lua functions that may raise, with nothing to undo.
 */
#include "lua.h"
#include <string.h>

void lunatik_copy(lua_State *L, char *dst, const char *src, unsigned long n)
{
	while (n > 0) {
		unsigned long k = n < LUNATIK_WORK_PIECE ? n : LUNATIK_WORK_PIECE;

		lunatik_work(L, 1 + (long)(k / LUNATIK_WORK_BYTES));
		memcpy(dst, src, k);
		dst += k;
		src += k;
		n -= k;
	}
}

/* memcmp's result over the first n bytes of a and b. */
int lunatik_compare(lua_State *L, const char *a, const char *b, unsigned long n)
{
	do {
		unsigned long k = n < LUNATIK_WORK_PIECE ? n : LUNATIK_WORK_PIECE;
		int r;

		lunatik_work(L, 1 + (long)(k / LUNATIK_WORK_BYTES));
		r = memcmp(a, b, k);
		if (r != 0)
			return r;
		a += k;
		b += k;
		n -= k;
	} while (n > 0);
	return 0;
}
