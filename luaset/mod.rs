// SPDX-License-Identifier: GPL-2.0

//! The `set` library: immutable string sets with exact and suffix
//! matching, whose lookups cost the same whatever their size
//! (docs/libraries.md, "set"). Its code is `core`-only and shared with
//! the host tests (lua/host.rs): the Lua functions (luaset/set.rs, no
//! `unsafe`), the layout and lookup of a set's bytes (luaset/index.rs)
//! and the memory that holds them (luaset/storage.rs). The kernel's part
//! is the RNG behind each set's hash key, below.

use crate::states::library::Library;

/// The layout of a set's bytes and the lookup in them.
#[allow(unreachable_pub, dead_code)]
mod index;
/// The Lua functions.
#[allow(unreachable_pub, dead_code)]
mod set;
/// The memory of a set.
#[allow(unreachable_pub, dead_code)]
mod storage;

/// A random `u64` for a set's hash key, from the kernel's RNG.
fn random() -> u64 {
    crate::glue::random::u64()
}

/// The `set` library.
pub(crate) static LIBRARY: Library = Library::new("set", &[(c"set", set::OPEN)]);
