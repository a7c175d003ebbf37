// SPDX-License-Identifier: GPL-2.0
/*
 * The baseline of the call benchmark (kunit/bench.rs): a plain C function
 * that does nothing, called out of line, to compare a call into Lua with.
 */
#include <linux/compiler.h>

#include "baseline.h"

noinline void lunatik_empty_call(void)
{
	/* Keeps the compiler from dropping or merging the calls. */
	barrier();
}
