// SPDX-License-Identifier: GPL-2.0

//! The `linux` and `lunatik` libraries (docs/libraries.md). It exports
//! its [`LIBRARY`]; the rest is private to this folder.

/// Safe wrappers over the shims of lualinux/linux.c.
mod kernel;
/// The libraries' Lua functions.
mod linux;

pub(crate) use linux::LIBRARY;
