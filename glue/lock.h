/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shims of glue/lock.c (spinlocks that disable bottom halves),
 * declared once; glue/bh_lock.rs mirrors them.
 */
#ifndef LUNATIK_LOCK_H
#define LUNATIK_LOCK_H

#include <linux/types.h>

struct spinlock;
void lunatik_spin_lock_bh(struct spinlock *lock);
int lunatik_spin_trylock_bh(struct spinlock *lock);
void lunatik_spin_unlock_bh(struct spinlock *lock);
void lunatik_local_bh_disable(void);
void lunatik_local_bh_enable(void);

#endif /* LUNATIK_LOCK_H */
