// SPDX-License-Identifier: GPL-2.0
/*
 * Bottom-half-safe spinlock operations for the Rust side. spin_lock_bh()
 * and friends are inline functions or macros, so Rust cannot call them
 * through kernel::bindings; these wrappers give them symbols.
 */
#include <linux/bottom_half.h>
#include <linux/spinlock.h>

#include "lock.h"

void lunatik_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

int lunatik_spin_trylock_bh(spinlock_t *lock)
{
	return spin_trylock_bh(lock);
}

void lunatik_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

void lunatik_local_bh_disable(void)
{
	local_bh_disable();
}

void lunatik_local_bh_enable(void)
{
	local_bh_enable();
}
