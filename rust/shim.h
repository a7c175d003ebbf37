/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of lunatik.ko: every function the Rust crate calls in the C
 * shims is declared here, once. The Rust side mirrors each declaration in a
 * single `extern "C"` block next to its safe wrapper.
 */
#ifndef LUNATIK_SHIM_H
#define LUNATIK_SHIM_H

#include <linux/types.h>

/* rust/cpu.c */
unsigned int lunatik_num_possible_cpus(void);
bool lunatik_cpu_possible(unsigned int cpu);

/* rust/lock.c */
struct spinlock;
void lunatik_spin_lock_bh(struct spinlock *lock);
int lunatik_spin_trylock_bh(struct spinlock *lock);
void lunatik_spin_unlock_bh(struct spinlock *lock);

/* rust/baseline.c */
void lunatik_empty_call(void);

#endif /* LUNATIK_SHIM_H */
