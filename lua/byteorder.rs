// SPDX-License-Identifier: GPL-2.0

//! The `byteorder` library: conversions between host order and network
//! (big-endian) or little-endian order, as Lunatik's: `hton16 ntoh16
//! hton32 ntoh32 hton64 ntoh64`, `htobe16/32/64 htole16/32/64`,
//! `be16toh/32/64 le16toh/32/64`. A 16- or 32-bit conversion looks at the
//! low 16 or 32 bits of its argument and returns a non-negative integer;
//! a 64-bit one works on all 64 bits (Lua integers are signed, so the
//! result may be negative).
//!
//! `core`-only, tested on the host.

use crate::lua::ffi::*;
use core::ffi::{c_int, CStr};

fn be16(v: i64) -> i64 {
    i64::from((v as u16).to_be())
}
fn be32(v: i64) -> i64 {
    i64::from((v as u32).to_be())
}
fn be64(v: i64) -> i64 {
    (v as u64).to_be() as i64
}
fn le16(v: i64) -> i64 {
    i64::from((v as u16).to_le())
}
fn le32(v: i64) -> i64 {
    i64::from((v as u32).to_le())
}
fn le64(v: i64) -> i64 {
    (v as u64).to_le() as i64
}

/// Applies upvalue 1's conversion (an index into [`CONVERSIONS`]) to
/// argument 1.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread, as a closure made by [`open`] (its upvalue 1 is an
/// index into [`CONVERSIONS`]).
unsafe extern "C" fn convert(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a closure made by `open`, whose upvalue is
    // an index into CONVERSIONS; the check may raise, nothing has a
    // destructor.
    unsafe {
        let f =
            CONVERSIONS[lua_tointegerx(L, lua_upvalueindex(1), core::ptr::null_mut()) as usize].1;
        let v = luaL_checkinteger(L, 1);
        lua_pushinteger(L, f(v));
    }
    1
}

/// A conversion of an integer's bytes.
type Conversion = fn(i64) -> i64;

/// Each name and its conversion. Converting to and from an order is the
/// same swap (or none), so the pairs share a function.
const CONVERSIONS: &[(&CStr, Conversion)] = &[
    (c"hton16", be16),
    (c"ntoh16", be16),
    (c"hton32", be32),
    (c"ntoh32", be32),
    (c"hton64", be64),
    (c"ntoh64", be64),
    (c"htobe16", be16),
    (c"be16toh", be16),
    (c"htobe32", be32),
    (c"be32toh", be32),
    (c"htobe64", be64),
    (c"be64toh", be64),
    (c"htole16", le16),
    (c"le16toh", le16),
    (c"htole32", le32),
    (c"le32toh", le32),
    (c"htole64", le64),
    (c"le64toh", le64),
];

/// `require "byteorder"`: the library table.
///
/// # Safety
///
/// Called by Lua (it raises on memory errors).
pub unsafe extern "C" fn open(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this as a C function with `L` its running thread,
    // in protected mode, so a memory error longjmps to that call and skips
    // no destructor (none is live); the table stays on top while each
    // closure is pushed (with its one upvalue, an index into CONVERSIONS
    // that `convert` relies on) and set into it, so at most three slots of
    // the LUA_MINSTACK room are used.
    unsafe {
        lua_createtable(L, 0, CONVERSIONS.len() as c_int);
        for (i, (name, _)) in CONVERSIONS.iter().enumerate() {
            lua_pushinteger(L, i as i64);
            lua_pushcclosure(L, convert, 1);
            lua_setfield(L, -2, name.as_ptr());
        }
    }
    1
}
