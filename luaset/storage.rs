// SPDX-License-Identifier: GPL-2.0

//! The memory of a set: the one place of the `set` library that holds
//! `unsafe` (its Lua functions, luaset/set.rs, have none).
//!
//! A set is one userdata: the [`Set`] header followed by its bytes (the
//! layout of luaset/index.rs), allocated by the state's allocator, so the
//! set counts against the memory cap of the state that built it and is
//! freed with the userdata when the collector finds it unreachable. The
//! header points at the bytes after it in the same block, which never
//! moves.
//!
//! `core`-only, shared with the host tests.

use super::index::Shape;
use crate::lua::{Class, Lua};

/// A built set: its shape, the number of members it was given, and its
/// bytes.
///
/// # Invariants
///
/// `bytes` points at `len` bytes that follow this header in its own
/// userdata, and so live as long as it. They are written only through
/// the slice [`Set::push`] returns, while the set is built, before any
/// shared slice of them is made ([`Set::bytes`]).
pub struct Set {
    bytes: *mut u8,
    len: usize,
    /// What the bytes hold.
    pub shape: Shape,
    /// The members the set was built from, duplicates included (`#s`).
    pub members: usize,
}

impl Set {
    /// Pushes a new set of `class` of `len` zeroed bytes and returns it
    /// with those bytes, for the caller to build the set in before it
    /// hands the set to a script. May raise (memory).
    pub fn push<'a>(
        lua: &mut Lua<'a>,
        class: &Class<Set>,
        shape: Shape,
        members: usize,
        len: usize,
    ) -> (&'a Set, &'a mut [u8]) {
        // INVARIANT: the tail `push_with` passes is `len` zeroed bytes
        // after the header, in the same userdata.
        let set = class.push_with(lua, len, 0, |bytes| Set {
            bytes,
            len,
            shape,
            members,
        });
        // SAFETY: `set.bytes` points at the `len` bytes after the header,
        // which live as long as the userdata; it is on the stack for the
        // rest of the call (`push_with`), so for `'a`, and later as long
        // as any reference to the header. This is the one mutable slice
        // ever made of them, made here before any shared one: the set is
        // new, and nothing reads its bytes until the builder is done and
        // returns it to the script (the invariant).
        let bytes = unsafe { core::slice::from_raw_parts_mut(set.bytes, set.len) };
        (set, bytes)
    }

    /// The set's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `bytes` points at `len` bytes that live as long as the
        // header (type invariant), read-only once the set is built, which
        // it is when a script holds it.
        unsafe { core::slice::from_raw_parts(self.bytes, self.len) }
    }
}
