// SPDX-License-Identifier: GPL-2.0

//! The Lua core: what every state needs, in the kernel and on the host
//! (docs/architecture.md, "Layers"). Lua 5.5.1 itself is C, prepared by
//! scripts/lua-source.sh and built by lua/Kbuild.frag with the project's
//! luaconf.h and klibc; this module is its Rust side.
//!
//! Every file here is `core`-only. The host crate (lua/host.rs) mounts
//! this same module at the same path, `crate::lua`, so the files name each
//! other alike in both builds; items are `pub` for the host, and the
//! kernel's crate root allows what that leaves unreachable.

/// The accounted allocator and the instruction budget.
pub mod account;
/// Lua's C API, declared for Rust.
pub mod ffi;
/// The life of one state: sandbox, `require`, running chunks, calls.
pub mod interp;

/// The `byteorder` library, opened by every state's sandbox.
mod byteorder;
/// The safe handle library functions are written against.
mod handle;
/// The integer `math` library.
mod mathlib;

pub use self::handle::{Class, Lua};
