// SPDX-License-Identifier: GPL-2.0

//! States: what a user names and runs in the kernel, each one Lua
//! interpreter or one per CPU (its replicas), their registry and what
//! libraries reach them through (docs/architecture.md, "Words", "Layers",
//! "States").
//!
//! Libraries see [`library`] (what a library is) and [`replica`]
//! (deferred work, resources, the context of the running replica); the
//! control plane and the KUnit tests also see [`state`] and [`registry`]; the packet paths
//! that find a state by name see [`softirq_index`]. The rest is private.

/// The library registry and the [`library::Runtime`] a state is made with.
pub(crate) mod library;
/// One replica, a Lua interpreter of a state: accounting, statistics,
/// `print`, deferred work, resources.
pub(crate) mod replica;
/// The print rate limit (`core`-only, shared with the host tests).
#[allow(unreachable_pub, dead_code)]
mod ratelimit;
/// The set of live states.
pub(crate) mod registry;
/// Script files for `require` (states/script.c).
pub(crate) mod script;
/// The RCU index of softirq states by name.
pub(crate) mod softirq_index;
/// The replica of a softirq state and its two locks.
mod softirq_replica;
/// A named state: context, limits, replicas, resources.
pub(crate) mod state;
