// SPDX-License-Identifier: GPL-2.0

//! What calls into a state: the kernel objects a library makes (a
//! netfilter hook, an XDP attachment) and the state as they see it,
//! [`Owner`] (docs/architecture.md, "Deferred work and resources").

use super::Results;
use crate::lua::interp;
use kernel::prelude::*;

/// A state as the kernel objects that call into it see it (a netfilter
/// hook, an XDP attachment): states/state.rs implements it, so libraries
/// reach their state without this file knowing either.
pub(crate) trait Owner: Sync {
    /// Calls the stored callback `id` with `args` for the packet path, in
    /// the replica of the current CPU, and lets `read` read its results;
    /// `read` returns `Err(message)` for results that count as a failure
    /// of the state (reported like a failed callback).
    fn callback(
        &self,
        id: i64,
        args: &[interp::Arg<'_>],
        read: &mut dyn FnMut(&Results<'_>) -> Result<(), &'static [u8]>,
    ) -> Result<(), CallbackError>;

    /// Counts an entry the packet path gave up before Lua ran (a packet
    /// without memory to prepare it) as an error of the state.
    fn refuse(&self);
}

/// Why [`Owner::callback`] has no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackError {
    /// Lua did not run: a re-entry on the CPU already running the replica,
    /// or a state the packet path may not enter. Counted by the state.
    Refused,
    /// Lua ran and failed, or `read` refused its results. Counted and
    /// reported by the replica.
    Failed,
}

/// A kernel object that calls into a state (a netfilter hook, an XDP
/// attachment), kept in the state's resource list, which the state drops
/// before anything else when it dies (docs/architecture.md, "Deferred
/// work and resources").
pub(crate) trait Resource: Send + Sync {
    /// The callback it calls.
    fn id(&self) -> i64;

    /// Stops the kernel from entering the state through it. Entries
    /// already inside may run until the next RCU grace period, which the
    /// state waits for, once for all its resources, before dropping them.
    /// Dropping a resource that was not unpublished unpublishes it and
    /// waits for a grace period itself.
    fn unpublish(&mut self);

    /// What it is and where it is attached, as `GET` reports it
    /// (docs/control.md, "Attachments").
    fn describe(&self) -> Description;
}

/// A resource as the control plane reports it: its kind (a
/// `protocol::attachment_kind` value) and the fields of that kind, each
/// left out of the reply when `None`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Description {
    /// The kind (`protocol::attachment_kind`).
    pub(crate) kind: u32,
    /// A netfilter hook's protocol family.
    pub(crate) family: Option<u32>,
    /// A netfilter hook's hook number.
    pub(crate) hooknum: Option<u32>,
    /// A netfilter hook's priority.
    pub(crate) priority: Option<i32>,
    /// The device it was registered on, by the name it had then
    /// (NUL-padded, `IFNAMSIZ` bytes).
    pub(crate) device: Option<[u8; 16]>,
    /// The device went away, and the kernel no longer calls in through
    /// this resource.
    pub(crate) device_gone: bool,
}

impl Description {
    /// A resource of `kind` with no other field.
    pub(crate) const fn of(kind: u32) -> Self {
        Self {
            kind,
            family: None,
            hooknum: None,
            priority: None,
            device: None,
            device_gone: false,
        }
    }
}
