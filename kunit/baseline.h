/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of kunit/baseline.c (the call benchmark's baseline), declared
 * once; kunit/bench.rs mirrors them.
 */
#ifndef LUNATIK_BASELINE_H
#define LUNATIK_BASELINE_H

void lunatik_empty_call(void);

#endif /* LUNATIK_BASELINE_H */
