// SPDX-License-Identifier: GPL-2.0

//! Deferred work: what a library asks for while a chunk runs and the
//! state does in process context once it is over, such as registering a
//! hook, which makes a [`Resource`] (docs/architecture.md, "Deferred work
//! and resources").
//!
//! Each replica keeps its own queue ([`Queue`]). It is bounded and its
//! memory is charged to the replica's memory account, because a packet
//! callback may queue work too (`xdp.detach()`, `h:unregister()`), and
//! nothing drains the queue until the control plane next runs a chunk in
//! the state (docs/states.md, "Deferred work").

use super::{Owner, ReplicaData, Resource};
use crate::glue::net::NetRef;
use crate::lua::account::Account;
use crate::lua::ffi::*;
use crate::lua::Lua;
use core::any::TypeId;
use core::ffi::CStr;
use kernel::alloc::Flags;
use kernel::prelude::*;

/// Most operations one replica keeps queued. Operations that repeat the
/// last one queued are merged into it ([`Deferred::repeat`]), so only a
/// script that keeps asking for different work reaches the bound: 64 is
/// far above what a script loading hooks asks for in one chunk, and at
/// most a few KiB of memory per replica.
pub(crate) const DEFERRED_MAX: usize = 64;

/// What [`Deferred::apply`] works on: the state, its namespace and its
/// resource list.
pub(crate) struct Apply<'a> {
    /// The state, for the resources made here to call into. It outlives
    /// them: it drops its resources before anything else.
    pub(crate) owner: *const (dyn Owner + 'static),
    /// The state's namespace.
    pub(crate) net: NetRef,
    /// The state's resources.
    pub(crate) resources: &'a mut KVec<KBox<dyn Resource>>,
    /// Callbacks the replicas may forget (the kernel will no longer call
    /// them) once the work is done.
    pub(crate) forget: &'a mut KVec<i64>,
}

/// Why deferred work failed: the kernel's error and the message the run
/// that asked for it fails with.
pub(crate) struct Refusal {
    /// The kernel's error.
    pub(crate) error: Error,
    /// The run's error message.
    pub(crate) message: &'static [u8],
}

/// Work a library asks for while a chunk runs and that must wait for
/// process context after it (registering a hook sleeps, and a softirq
/// state runs Lua under a spinlock). The state does it when the chunk is
/// over ([`crate::states::state::State::run`]).
pub(crate) trait Deferred: Send + 'static {
    /// Whether the work lets the packet path reach the state: the state
    /// is then exposed first (states/softirq_replica.rs).
    fn exposes(&self) -> bool;

    /// Does the work, in process context.
    fn apply(&self, cx: &mut Apply<'_>) -> Result<(), Refusal>;

    /// For work that, done twice in a row, does no more than done once
    /// (a second `xdp.detach()`, a second `unregister` of the same hook):
    /// a value telling it from the other work of its type, so that
    /// queuing it right after an equal one queues nothing. `None` (the
    /// default) for work that must be queued every time it is asked for
    /// (each `netfilter.register` makes a hook).
    fn repeat(&self) -> Option<i64> {
        None
    }
}

/// One queued operation.
struct Queued {
    op: KBox<dyn Deferred>,
    /// The operation's type and [`Deferred::repeat`] value, if it has one.
    repeat: Option<(TypeId, i64)>,
}

/// Bytes one queued operation of type `T` is charged: its box and its
/// slot in the queue.
fn cost<T>() -> usize {
    size_of::<T>() + size_of::<Queued>()
}

/// The work the chunks of one replica deferred, bounded by
/// [`DEFERRED_MAX`].
///
/// # Invariants
///
/// The replica's memory account is charged `charged` bytes for the
/// queue: [`cost`] of each queued operation.
pub(crate) struct Queue {
    ops: KVec<Queued>,
    charged: usize,
}

/// Why [`lua_defer`] queued nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeferError {
    /// [`DEFERRED_MAX`] operations are queued already.
    Full,
    /// The memory cap, or the kernel, refused the memory.
    NoMemory,
}

impl DeferError {
    /// The error the script gets.
    pub(crate) fn message(self) -> &'static CStr {
        match self {
            DeferError::Full => {
                c"too much deferred work: at most 64 operations wait for the end of a chunk run by the control plane (lunatik exec)"
            }
            DeferError::NoMemory => c"not enough memory",
        }
    }
}

impl Queue {
    /// An empty queue.
    pub(crate) const fn new() -> Self {
        Self {
            ops: KVec::new(),
            charged: 0,
        }
    }

    /// Number of queued operations.
    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    /// Queues `op`, charging `account`, unless it repeats the last
    /// operation queued (then nothing changes).
    fn push<T: Deferred>(
        &mut self,
        op: T,
        account: &mut Account,
        flags: Flags,
    ) -> Result<(), DeferError> {
        let repeat = op.repeat().map(|v| (TypeId::of::<T>(), v));
        if repeat.is_some() && self.ops.last().is_some_and(|q| q.repeat == repeat) {
            return Ok(());
        }
        if self.ops.len() >= DEFERRED_MAX {
            return Err(DeferError::Full);
        }
        let cost = cost::<T>();
        if !account.admits(cost) {
            account.alloc_failures += 1;
            return Err(DeferError::NoMemory);
        }
        let op: KBox<dyn Deferred> = KBox::new(op, flags).map_err(|_| DeferError::NoMemory)?;
        self.ops
            .push(Queued { op, repeat }, flags)
            .map_err(|_| DeferError::NoMemory)?;
        // INVARIANT: the operation is queued and its cost charged.
        account.record(0, cost);
        self.charged += cost;
        Ok(())
    }

    /// Takes every queued operation, giving their charge back to
    /// `account`.
    pub(crate) fn take(&mut self, account: &mut Account) -> Taken {
        let ops = core::mem::take(&mut self.ops);
        // INVARIANT: the queue is empty and charges nothing.
        account.record(self.charged, 0);
        self.charged = 0;
        Taken(ops)
    }
}

/// Operations taken from a replica's queue, in the order they were
/// queued; no longer charged to the replica, freed when dropped.
pub(crate) struct Taken(KVec<Queued>);

impl Taken {
    /// No operation.
    pub(crate) const fn none() -> Self {
        Self(KVec::new())
    }

    /// Whether there is no operation.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The operations, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &dyn Deferred> {
        self.0.iter().map(|q| &*q.op)
    }
}

/// Queues `op` for the state to do when the chunk running `lua` is over
/// (or merges it into the last operation queued, see
/// [`Deferred::repeat`]). The caller raises [`DeferError::message`] on
/// failure.
pub(crate) fn lua_defer<T: Deferred>(lua: &mut Lua<'_>, op: T) -> Result<(), DeferError> {
    // SAFETY: every Lua thread in the module belongs to a live `Replica`
    // (`Replica::new` is the only maker of states here), and a `Lua`
    // handle exists only while its thread runs, so the replica is
    // running, its extra space holds its data, and nothing else borrows
    // that data while its Lua code runs; the push is plain Rust, no Lua
    // call.
    unsafe {
        let data = &mut *(*lua_getextraspace(lua.as_ptr())).cast::<ReplicaData>();
        let flags = data.context.flags();
        data.pending.push(op, &mut data.account, flags)
    }
}
