// SPDX-License-Identifier: GPL-2.0

//! The softirq states of every namespace by name, for packet paths that
//! find a state by its name (the XDP kfuncs) and may neither sleep nor
//! take a mutex (docs/architecture.md, "Lifetimes of states, hooks and
//! tables").
//!
//! The index is one immutable, sorted snapshot of `(namespace, name,
//! state)` entries behind an RCU-published pointer. Readers look a name up
//! by binary search inside an RCU read-side section and use the state
//! there, without taking a reference (dropping the last reference in
//! softirq context would close the state there). Writers are the
//! registry, in process context under its mutex: each change copies the
//! snapshot, publishes the copy and frees the old one with `call_rcu`.
//!
//! Lifetime: an entry points to a state without owning it; the registry
//! owns it. When the registry removes a softirq state it first unpublishes
//! it here and then waits for a grace period ([`Index::remove`] callers
//! call [`wait_readers`]) before it lets its reference go, so no reader is
//! inside the state when it can close.

use crate::glue::net::NetRef;
use crate::states::state::State;
use crate::uapi::name::Name;
use core::cmp::Ordering;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Release};
use kernel::sync::rcu;
use kernel::types::Opaque;

/// One indexed state.
#[derive(Clone, Copy)]
struct Entry {
    net: NetRef,
    name: Name,
    state: *const State,
}

impl Entry {
    fn key_cmp(&self, net: NetRef, name: &[u8]) -> Ordering {
        (self.net.as_ptr() as usize)
            .cmp(&(net.as_ptr() as usize))
            .then_with(|| self.name.as_bytes().cmp(name))
    }
}

/// An immutable set of entries, sorted by namespace address then name.
/// `rcu` comes first so the `call_rcu` head is the snapshot's address.
#[repr(C)]
struct Snapshot {
    rcu: Opaque<bindings::callback_head>,
    entries: KVec<Entry>,
}

/// The published snapshot, or null for none (no softirq state).
///
/// # Invariants
///
/// A non-null value came from `KBox::into_raw` of a snapshot
/// that is freed only by [`free_snapshot`] after a grace period following
/// its replacement; every entry's state is live until a grace period after
/// the entry is unpublished.
static CURRENT: Atomic<*mut Snapshot> = Atomic::new(core::ptr::null_mut());

/// Frees a replaced snapshot (the `call_rcu` callback).
///
/// # Safety
///
/// Called by RCU only, with the head of a snapshot [`publish`] retired.
unsafe extern "C" fn free_snapshot(head: *mut bindings::callback_head) {
    // SAFETY: `rcu` is the first field of the repr(C) snapshot, which
    // came from KBox::into_raw; a grace period has passed since it was
    // replaced, so no reader holds it.
    drop(unsafe { KBox::from_raw(head.cast::<Snapshot>()) });
}

/// Publishes `entries` as the new snapshot and retires the old one.
fn publish(entries: KVec<Entry>) -> Result {
    let new = if entries.is_empty() {
        core::ptr::null_mut()
    } else {
        KBox::into_raw(KBox::new(
            Snapshot {
                rcu: Opaque::uninit(),
                entries,
            },
            GFP_KERNEL,
        )?)
    };
    let old = CURRENT.xchg(new, Release);
    if !old.is_null() {
        // SAFETY: `old` is unpublished (no new reader can find it) and
        // freed once by the callback after the readers that may hold it.
        // The module waits for pending callbacks (`rcu_barrier`, in the
        // rcu owner) before it is unloaded.
        unsafe { bindings::call_rcu((*old).rcu.get(), Some(free_snapshot)) };
    }
    Ok(())
}

/// A copy of the current entries (writers only: under the registry lock).
fn copy() -> Result<KVec<Entry>> {
    let p = CURRENT.load(Acquire);
    let mut out = KVec::new();
    // SAFETY: only writers replace the snapshot, and they are serialised
    // by the registry's lock, which the caller holds: the current one
    // cannot be retired, let alone freed, meanwhile. (No RCU read-side
    // section: the copy allocates, which may sleep.)
    if let Some(s) = unsafe { p.as_ref() } {
        out.extend_from_slice(&s.entries, GFP_KERNEL)?;
    }
    Ok(out)
}

/// Adds `state` (a softirq state the registry now owns). Process context,
/// under the registry's lock.
pub(crate) fn insert(state: &State) -> Result {
    let (net, name) = (state.config().net, *state.name());
    let mut entries = copy()?;
    let at = match entries.binary_search_by(|e| e.key_cmp(net, name.as_bytes())) {
        Ok(_) => return Err(EEXIST),
        Err(at) => at,
    };
    entries.push(Entry { net, name, state }, GFP_KERNEL)?;
    entries[at..].rotate_right(1);
    publish(entries)
}

/// Removes the states of `net` named by `gone` (those not indexed are
/// ignored). Process context, under the registry's lock. The caller must
/// [`wait_readers`] before it drops the states.
pub(crate) fn remove(gone: &[&State]) {
    let Ok(mut entries) = copy() else {
        // No memory for a copy: unpublish everything; lookups fail until
        // the next change republishes the rest. Rare, and safe.
        let _ = publish(KVec::new());
        return;
    };
    let before = entries.len();
    entries.retain(|e| !gone.iter().any(|s| core::ptr::eq(e.state, *s)));
    if entries.len() != before {
        // An empty list publishes null and allocates nothing.
        if publish(entries).is_err() {
            let _ = publish(KVec::new());
        }
    }
}

/// Waits until no reader can still be inside a state removed before.
pub(crate) fn wait_readers() {
    rcu::synchronize_rcu();
}

/// Finds the softirq state `name` of `net` and runs `f` on it inside an
/// RCU read-side section; `None` if there is none. Any context; `f` must
/// not sleep.
pub(crate) fn with<R>(net: NetRef, name: &[u8], f: impl FnOnce(&State) -> R) -> Option<R> {
    let _guard = rcu::read_lock();
    let p = CURRENT.load(Acquire);
    // SAFETY: a published snapshot stays allocated inside the read-side
    // section (type invariant).
    let s = unsafe { p.as_ref() }?;
    let i = s.entries.binary_search_by(|e| e.key_cmp(net, name)).ok()?;
    // SAFETY: an indexed state is live until a grace period after it is
    // unpublished (type invariant), and this section began before.
    Some(f(unsafe { &*s.entries[i].state }))
}
