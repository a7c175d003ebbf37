// SPDX-License-Identifier: GPL-2.0

//! The softirq states of every namespace by name, for packet paths that
//! find a state by its name (the XDP kfuncs) and may neither sleep nor
//! take a mutex (docs/architecture.md, "Lifetimes of states, hooks and
//! tables").
//!
//! The index is one sorted snapshot of `(namespace, name, state)` entries
//! behind an RCU-published pointer. Readers look a name up by binary
//! search inside an RCU read-side section and use the state there, without
//! taking a reference (dropping the last reference in softirq context
//! would close the state there). Writers are the registry, in process
//! context under its mutex: an insertion copies the snapshot, publishes
//! the copy and frees the old one with `call_rcu`.
//!
//! A removal never allocates before it takes a state out, so it cannot
//! fail, nor lose the other entries: it clears the entry's state pointer
//! in place in the current snapshot (the entry's key is unchanged, so the
//! snapshot stays sorted; readers treat a cleared entry as absent), and
//! only then tries to publish a compacted copy. Without memory for that
//! copy the cleared entry simply stays until the next change, since every
//! copy leaves cleared entries out; an insertion searches its copy, so a
//! cleared entry never makes it fail with `EEXIST`.
//!
//! Lifetime: an entry points to a state without owning it; the registry
//! owns it. When the registry removes a softirq state it first unpublishes
//! it here and then waits for a grace period ([`remove`] callers call
//! [`wait_readers`]) before it lets its reference go, so no reader is
//! inside the state when it can close.

use crate::glue::net::NetRef;
use crate::states::state::State;
use crate::uapi::name::Name;
use core::cmp::Ordering;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
use kernel::sync::rcu;
use kernel::types::Opaque;

/// One indexed state.
struct Entry {
    net: NetRef,
    name: Name,
    /// The state, or null once [`remove`] has cleared the entry (which
    /// readers then treat as absent). Set once when the entry is made;
    /// only ever cleared after.
    state: Atomic<*const State>,
}

impl Entry {
    fn key_cmp(&self, net: NetRef, name: &[u8]) -> Ordering {
        (self.net.as_ptr() as usize)
            .cmp(&(net.as_ptr() as usize))
            .then_with(|| self.name.as_bytes().cmp(name))
    }
}

/// A set of entries, sorted by namespace address then name, with no two
/// keys alike; fixed once published but for the state pointers [`remove`]
/// clears. `rcu` comes first so the `call_rcu` head is the snapshot's
/// address.
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
/// its replacement. The non-null state of an entry, in this snapshot or in
/// one retired before, is live until a grace period after [`remove`]
/// cleared it in the snapshot then current (a snapshot retired earlier is
/// reachable only by readers that began before that).
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
        may_allocate()?;
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

/// A copy of the current entries with room for `extra` more, leaving out
/// those [`remove`] cleared (writers only: under the registry lock).
fn copy(extra: usize) -> Result<KVec<Entry>> {
    may_allocate()?;
    let p = CURRENT.load(Acquire);
    let mut out = KVec::new();
    // SAFETY: only writers replace the snapshot, and they are serialised
    // by the registry's lock, which the caller holds: the current one
    // cannot be retired, let alone freed, meanwhile. (No RCU read-side
    // section: the copy allocates, which may sleep.)
    let Some(s) = (unsafe { p.as_ref() }) else {
        out.reserve(extra, GFP_KERNEL)?;
        return Ok(out);
    };
    out.reserve(s.entries.len() + extra, GFP_KERNEL)?;
    for e in s.entries.iter() {
        // Writers are serialised (above): no clearing runs meanwhile.
        let state = e.state.load(Relaxed);
        if !state.is_null() {
            let entry = Entry {
                net: e.net,
                name: e.name,
                state: Atomic::new(state),
            };
            // Room was reserved for every entry.
            out.push_within_capacity(entry).map_err(|_| ENOMEM)?;
        }
    }
    Ok(out)
}

/// Adds `state` (a softirq state the registry now owns). Process context,
/// under the registry's lock.
pub(crate) fn insert(state: &State) -> Result {
    let (net, name) = (state.config().net, *state.name());
    // The copy holds no cleared entry: a state removed under this name
    // does not make the insertion fail.
    let mut entries = copy(1)?;
    let at = match entries.binary_search_by(|e| e.key_cmp(net, name.as_bytes())) {
        Ok(_) => return Err(EEXIST),
        Err(at) => at,
    };
    let entry = Entry {
        net,
        name,
        state: Atomic::new(core::ptr::from_ref(state)),
    };
    // Room for it was reserved by the copy.
    entries.push_within_capacity(entry).map_err(|_| ENOMEM)?;
    entries[at..].rotate_right(1);
    publish(entries)
}

/// Removes `gone`, states the registry owns (those not indexed are
/// ignored). Process context, under the registry's lock. Cannot fail and
/// never takes out another state: each is cleared in place in the current
/// snapshot, which allocates nothing, before a compacted copy is tried.
/// The caller must [`wait_readers`] before it drops the states.
pub(crate) fn remove(gone: &[&State]) {
    let p = CURRENT.load(Acquire);
    // SAFETY: writers are serialised by the registry's lock, which the
    // caller holds, so the current snapshot stays allocated meanwhile.
    let Some(s) = (unsafe { p.as_ref() }) else {
        return;
    };
    let mut cleared = false;
    for state in gone {
        let (net, name) = (state.config().net, state.name().as_bytes());
        let Ok(i) = s.entries.binary_search_by(|e| e.key_cmp(net, name)) else {
            continue;
        };
        let entry = &s.entries[i];
        if core::ptr::eq(entry.state.load(Relaxed), *state) {
            // From here readers find no state under this key; those that
            // loaded it before are waited for by `wait_readers`.
            entry.state.store(core::ptr::null(), Release);
            cleared = true;
        }
    }
    if cleared {
        // Compact if memory allows (an empty copy publishes null and
        // allocates nothing beyond the copy); if not, the cleared entries
        // stay, harmless, until the next change leaves them out.
        if let Ok(entries) = copy(0) {
            let _ = publish(entries);
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
    // Null: removed (see `remove`), the name is not indexed.
    let state = s.entries[i].state.load(Acquire);
    // SAFETY: a non-null indexed state is live until a grace period after
    // it is cleared (type invariant), and this section began before that
    // grace period, having loaded it before it was cleared.
    Some(f(unsafe { state.as_ref() }?))
}

/// Whether the index may allocate: always, but for a KUnit test that
/// makes it fail (kunit/state_tests.rs) to prove a removal loses nothing.
fn may_allocate() -> Result {
    #[cfg(CONFIG_KUNIT)]
    if FAIL_ALLOCATIONS.load(Relaxed) {
        return Err(ENOMEM);
    }
    Ok(())
}

/// Set by KUnit tests only: the index's allocations fail meanwhile.
#[cfg(CONFIG_KUNIT)]
static FAIL_ALLOCATIONS: Atomic<bool> = Atomic::new(false);

/// Makes every allocation of the index fail (`true`) or work again (tests
/// only; what runs meanwhile sees `ENOMEM` from insertions).
#[cfg(CONFIG_KUNIT)]
pub(crate) fn fail_allocations(fail: bool) {
    FAIL_ALLOCATIONS.store(fail, Relaxed);
}
