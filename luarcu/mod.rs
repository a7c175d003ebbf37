// SPDX-License-Identifier: GPL-2.0

//! The `rcu` library: hash tables shared between states, read without
//! locks under RCU (docs/libraries.md). It exports its [`LIBRARY`] and, for
//! the control plane's `NS_GET`, the quota figures of a namespace
//! ([`stats`]); everything else is private to this folder.

/// The quota account of one namespace's tables.
mod pool;
/// The quota's limits and arithmetic (`core`-only, shared with the host
/// tests).
#[allow(unreachable_pub, dead_code)]
mod quota;
/// The Lua side: `rcu.table`, `rcu.map` and the table's metamethods.
mod rcu;
/// The keyed hash of the buckets (`core`-only, shared with the host
/// tests).
#[allow(unreachable_pub, dead_code)]
mod siphash;
/// The tables of each namespace and the index of its named tables.
mod space;
/// The lock-free hash tables.
mod table;

pub(crate) use rcu::LIBRARY;
pub(crate) use space::stats;
