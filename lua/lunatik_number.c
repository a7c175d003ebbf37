// SPDX-License-Identifier: GPL-2.0
/*
 * Integer versions of the arithmetic Lua would do in floating point, shared
 * by the kernel module and the host build (see lua/luaconf.h).
 */
#include "lua.h"
#include "ldebug.h"
#include "lvm.h"

/* No numeral is read as a float: report that nothing was recognised. */
long long lunatik_str2number(const char *s, char **endptr)
{
	if (endptr)
		*endptr = (char *)s;
	return 0;
}

/* '/' is floor division, like '//'. */
long long lunatik_numdiv(lua_State *L, long long a, long long b)
{
	if (b == 0)
		luaG_runerror(L, "attempt to divide by zero");
	return luaV_idiv(L, a, b);
}

long long lunatik_nummod(lua_State *L, long long a, long long b)
{
	return luaV_mod(L, a, b);
}

/* '^' by squaring, wrapping on overflow like the other integer operators. */
long long lunatik_numpow(lua_State *L, long long a, long long b)
{
	unsigned long long base = (unsigned long long)a, r = 1;

	if (b < 0)
		luaG_runerror(L, "attempt to raise to a negative power");
	while (b > 0) {
		if (b & 1)
			r *= base;
		base *= base;
		b >>= 1;
	}
	return (long long)r;
}
