// SPDX-License-Identifier: GPL-2.0

//! The replica of a `softirq` state and its two locks (docs/states.md, "Every
//! entry is bounded").
//!
//! A softirq state is entered from the control plane (process context)
//! and, once a hook or another packet path reaches it, from softirq
//! context. Only the second needs bottom halves off: until the state is
//! *exposed* to the packet path, nothing but the control plane can enter
//! it, so its entries (loading a script, above all) run under a mutex,
//! preemptible, with no deadline; the instruction budget bounds them and
//! `cond_resched` lets other tasks run. A state is exposed just before its
//! first hook is registered, for good. From then on every entry holds a
//! bh-disabling spinlock and meets the softirq deadlines.

use crate::glue::bh_lock::{new_spinlock_bh, BhGuard, SpinLockBh};
use crate::states::replica::Replica;
use core::cell::UnsafeCell;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::{new_mutex, Mutex};

/// No CPU: the value of `owner` when the spinlock is free.
const NO_CPU: i32 = -1;

/// The packet path may not enter: this CPU holds the spinlock already
/// (entering would deadlock), or the replica is not exposed.
pub(crate) struct Refused;

/// A softirq state's replica.
///
/// # Invariants
///
/// `replica` is used only by a holder of `gate` while `exposed` is false,
/// or by a holder of `spin` once it is true; `exposed` changes from false
/// to true only under `gate`, and never back. `owner` is the CPU holding
/// `spin`, or [`NO_CPU`]: bottom halves and preemption are off while the
/// spinlock is held, so the owner's CPU cannot change under it.
#[pin_data]
pub(crate) struct SoftirqReplica {
    /// Serialises the control plane's entries.
    #[pin]
    gate: Mutex<()>,
    /// Excludes the packet path, once the state is exposed.
    #[pin]
    spin: SpinLockBh<()>,
    exposed: Atomic<i32>,
    owner: Atomic<i32>,
    replica: UnsafeCell<Replica>,
}

// SAFETY: `replica` is only reached under the locks (type invariants), and
// a `Replica` may move between threads (it is `Send`).
unsafe impl Sync for SoftirqReplica {}
// SAFETY: `replica` is only reached under the locks (type invariants),
// a `Replica` may move between threads (it is `Send`), and so may the
// locks and atomics.
unsafe impl Send for SoftirqReplica {}

impl SoftirqReplica {
    /// A replica not yet exposed to the packet path.
    pub(crate) fn new(replica: Replica) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            gate <- new_mutex!((), "lunatik_state_softirq_gate"),
            spin <- new_spinlock_bh!((), c"lunatik_state_softirq"),
            exposed: Atomic::new(0),
            owner: Atomic::new(NO_CPU),
            replica: UnsafeCell::new(replica),
        })
    }

    /// Whether the packet path may enter.
    pub(crate) fn is_exposed(&self) -> bool {
        self.exposed.load(Relaxed) != 0
    }

    /// Makes the replica reachable from the packet path: every later entry
    /// holds the spinlock. Called in process context before a hook that
    /// calls into the replica is registered.
    pub(crate) fn expose(&self) {
        let _gate = self.gate.lock();
        // INVARIANT: under `gate`, so no control-plane entry is running
        // without the spinlock; once set, it stays.
        self.exposed.store(1, Relaxed);
    }

    /// Runs `f` on the replica for the control plane (process context).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Replica) -> R) -> R {
        let _gate = self.gate.lock();
        if self.is_exposed() {
            return self.hold(f);
        }
        // SAFETY: `gate` is held and the replica is not exposed, so nothing
        // else uses the replica (type invariant).
        let replica = unsafe { &mut *self.replica.get() };
        replica.set_preemptible(true);
        f(replica)
    }

    /// Runs `f` on the replica for the packet path (softirq or process
    /// context), waiting for the spinlock if another CPU holds it (every
    /// exposed entry is bounded in time). Fails if this CPU holds it
    /// already (a packet path re-entered from inside an entry), or if the
    /// replica is not exposed (no packet path should reach it then).
    pub(crate) fn enter<R>(&self, f: impl FnOnce(&mut Replica) -> R) -> Result<R, Refused> {
        // With bottom halves off this CPU stays the same, and an owner
        // equal to it really is a holder this path interrupted, or this
        // path itself.
        let _bh = BhGuard::new();
        if !self.is_exposed() || self.owner.load(Relaxed) == current_cpu() {
            return Err(Refused);
        }
        Ok(self.hold(f))
    }

    /// Takes the spinlock, records this CPU as its owner while `f` runs.
    fn hold<R>(&self, f: impl FnOnce(&mut Replica) -> R) -> R {
        let _spin = self.spin.lock();
        // INVARIANT: the spinlock is held, with bottom halves and
        // preemption off until it is released: this CPU owns it meanwhile.
        self.owner.store(current_cpu(), Relaxed);
        // SAFETY: the spinlock is held and the replica exposed (both callers
        // checked, and it never goes back), so nothing else uses the
        // replica (type invariant).
        let replica = unsafe { &mut *self.replica.get() };
        replica.set_preemptible(false);
        let r = f(replica);
        self.owner.store(NO_CPU, Relaxed);
        r
    }
}

/// The CPU this runs on, as `owner` stores it.
fn current_cpu() -> i32 {
    kernel::cpu::CpuId::current().as_u32() as i32
}
