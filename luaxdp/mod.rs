// SPDX-License-Identifier: GPL-2.0

//! The `xdp` and `linux.xdp` libraries and the kfuncs through which XDP
//! programs call Lua (docs/xdp.md). It exports its [`LIBRARY`]; the rest is
//! private to this folder. The kfuncs are C for their BTF
//! (luaxdp/kfunc.c, built by luaxdp/Kbuild.frag); the eBPF programs
//! (luaxdp/bpf/) are built by `make bpf`, not into the module.

/// The Rust side of the kfuncs: the function a packet calls.
mod run;
/// The libraries' Lua functions.
mod xdp;

pub(crate) use xdp::LIBRARY;
