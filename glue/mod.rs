// SPDX-License-Identifier: GPL-2.0

//! Kernel glue: what the kernel crate does not offer, over small C shims
//! where a kernel function is inline or a macro (docs/architecture.md,
//! "Layers"). Each C shim is declared once, in the header beside it, and
//! built by glue/Kbuild.frag.

/// A spinlock that disables bottom halves (glue/lock.c).
pub(crate) mod bh_lock;
/// CPU topology and scheduling helpers (glue/cpu.c).
pub(crate) mod cpu;
/// The raw memory under Lua.
pub(crate) mod kalloc;
/// Network namespaces and a pernet subsystem generic over what it does.
pub(crate) mod net;
/// The kernel's random numbers.
pub(crate) mod random;
