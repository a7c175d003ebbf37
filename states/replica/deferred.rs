// SPDX-License-Identifier: GPL-2.0

//! Deferred work: what a library asks for while a chunk runs and the
//! state does in process context once it is over, such as registering a
//! hook, which makes a [`Resource`] (docs/architecture.md, "Deferred work
//! and resources").

use super::{ReplicaData, Owner, Resource};
use crate::glue::net::NetRef;
use crate::lua::ffi::*;
use crate::lua::Lua;
use kernel::prelude::*;

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
pub(crate) trait Deferred: Send {
    /// Whether the work lets the packet path reach the state: the state
    /// is then exposed first (states/softirq_replica.rs).
    fn exposes(&self) -> bool;

    /// Does the work, in process context.
    fn apply(&self, cx: &mut Apply<'_>) -> Result<(), Refusal>;
}

/// Queues `op` for the state to do when the chunk running `lua` is over.
pub(crate) fn lua_defer(lua: &mut Lua<'_>, op: impl Deferred + 'static) -> Result {
    // SAFETY: every Lua thread in the module belongs to a live `Replica`
    // (`Replica::new` is the only maker of states here), and a `Lua`
    // handle exists only while its thread runs, so the replica is
    // running, its extra space holds its data, and nothing else borrows
    // that data while its Lua code runs; the push is plain Rust, no Lua
    // call.
    unsafe {
        let data = (*lua_getextraspace(lua.as_ptr())).cast::<ReplicaData>();
        let flags = (*data).context.flags();
        let op: KBox<dyn Deferred> = KBox::new(op, flags)?;
        (*data).pending.push(op, flags)?;
    }
    Ok(())
}
