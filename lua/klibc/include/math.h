/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Integer stand-ins for the few libm functions Lua names. They are reached
 * only on values with the float tag, which never exist in this build (see
 * lua/luaconf.h), so they exist to compile, never to compute.
 */
#ifndef LUNATIK_MATH_H
#define LUNATIK_MATH_H
#define HUGE_VAL	(__LONG_LONG_MAX__)
static inline long long frexp(long long x, int *e) { *e = 0; return x; }
static inline long long ldexp(long long x, int e) { return e >= 0 ? x << e : x >> -e; }
static inline long long fabs(long long x) { return x < 0 ? -x : x; }
static inline long long floor(long long x) { return x; }
#endif
