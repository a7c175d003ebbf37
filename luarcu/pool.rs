// SPDX-License-Identifier: GPL-2.0

//! The quota account of one network namespace's rcu tables: what its
//! tables and entries hold, checked against the namespace's quota
//! (luarcu/quota.rs) at every charge.
//!
//! A [`Pool`] is an `Arc` held by the namespace's space (luarcu/space.rs),
//! by each of its tables (which charge it) and by each entry waiting for a
//! grace period (charged until freed), so a table never needs the space
//! itself. Its lock is a bh-disabling spinlock, as softirq states make
//! tables and `call_rcu` callbacks release charges from softirq context;
//! it is never held with another lock.

use crate::glue::bh_lock::{new_spinlock_bh, SpinLockBh};
use crate::luarcu::quota::{Exceeded, Usage, LIMITS};
use kernel::alloc::Flags;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;

/// Bytes and tables of every namespace, for `lunatik stats`: a namespace
/// that went away must bring these back down.
static ALL_BYTES: Atomic<usize> = Atomic::new(0);
static ALL_TABLES: Atomic<usize> = Atomic::new(0);

/// The quota account of one namespace.
///
/// # Invariants
///
/// `usage` is the sum of what the namespace's live tables were charged
/// for themselves (one table and their bytes each) and of the bytes of
/// every entry they hold or that waits for a grace period; each charge
/// was checked against [`LIMITS`] when it was made.
#[pin_data]
pub(crate) struct Pool {
    #[pin]
    usage: SpinLockBh<Usage>,
}

impl Pool {
    /// An empty account.
    pub(crate) fn new(flags: Flags) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                usage <- new_spinlock_bh!(Usage::default(), c"lunatik_rcu_usage"),
            }),
            flags,
        )
    }

    /// Charges `more`, unless it would cross a limit (then nothing is
    /// charged).
    pub(crate) fn charge(&self, more: Usage) -> Result<(), Exceeded> {
        {
            let mut usage = self.usage.lock();
            // INVARIANT: the charge is checked against the limits.
            *usage = usage.charge(more, LIMITS)?;
        }
        ALL_BYTES.add(more.bytes, Relaxed);
        ALL_TABLES.add(more.tables, Relaxed);
        Ok(())
    }

    /// Gives back `less`, charged earlier.
    pub(crate) fn release(&self, less: Usage) {
        {
            let mut usage = self.usage.lock();
            *usage = usage.release(less);
        }
        ALL_BYTES.fetch_sub(less.bytes, Relaxed);
        ALL_TABLES.fetch_sub(less.tables, Relaxed);
    }

    /// What the namespace's tables hold now.
    pub(crate) fn usage(&self) -> Usage {
        *self.usage.lock()
    }
}

/// What every namespace's tables hold now.
pub(crate) fn all() -> Usage {
    Usage {
        bytes: ALL_BYTES.load(Relaxed),
        tables: ALL_TABLES.load(Relaxed),
    }
}
