// SPDX-License-Identifier: GPL-2.0

//! The `netfilter` and `linux.nf` libraries and the `skb` object: packet
//! hooks written in Lua (docs/netfilter.md). It exports its [`LIBRARY`]
//! (and, to the benchmarks, the `skb` argument); the rest is private to
//! this folder. Its C shims are declared in the headers beside them and
//! built by luanetfilter/Kbuild.frag.

/// The table of `linux.nf`, generated from the kernel's headers.
mod constants;
/// Hooks bound to a network device (luanetfilter/device.c).
mod device;
/// The hook logic: the hook a state asks for, the deferred work that
/// registers it and its verdict on a packet.
mod hook;
/// Safe wrappers over the shims of luanetfilter/netfilter.c: the packet
/// and the hook's registration.
mod kernel;
/// The libraries' Lua functions.
mod netfilter;
/// The `skb` object (`core`-only, shared with the host tests).
#[allow(unreachable_pub, dead_code)]
mod skb;
/// Writable packets (luanetfilter/write.c).
mod write;

pub(crate) use netfilter::LIBRARY;
/// For the benchmarks' `skb` calls (kunit/bench.rs), built only by `make bench`.
#[cfg(all(CONFIG_KUNIT, lunatik_bench))]
pub(crate) use skb::SkbArg;
