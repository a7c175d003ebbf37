/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Integer limits for Lua. The kernel's INT_MAX and friends are casts,
 * which the preprocessor cannot evaluate, and Lua compares them in #if
 * lines; so the ones Lua uses there are restated as plain literals (same
 * values, same types).
 */
#ifndef LUNATIK_LIMITS_H
#define LUNATIK_LIMITS_H
#include <linux/limits.h>
#define CHAR_BIT	8
#define UCHAR_MAX	255
#define SCHAR_MAX	127
#define SCHAR_MIN	(-128)
#undef INT_MAX
#define INT_MAX		2147483647
#undef UINT_MAX
#define UINT_MAX	4294967295U
#undef LONG_MAX
#define LONG_MAX	9223372036854775807L
#undef ULONG_MAX
#define ULONG_MAX	18446744073709551615UL
#undef LLONG_MAX
#define LLONG_MAX	9223372036854775807LL
#undef ULLONG_MAX
#define ULLONG_MAX	18446744073709551615ULL
#endif
