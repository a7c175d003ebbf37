// SPDX-License-Identifier: GPL-2.0

//! The kernel glue of `linux.nf`: the table of netfilter constants that
//! `scripts/nf-constants.sh` makes from the kernel's uAPI headers at build
//! time (Kbuild compiles it as build/nf_constants.c; declared in
//! luanetfilter/netfilter.h), read as Rust values.

use core::ffi::{c_char, c_longlong, CStr};

/// One entry of the generated table (`struct lunatik_nf_constant`).
#[repr(C)]
struct Entry {
    table: *const c_char,
    sub: *const c_char,
    name: *const c_char,
    value: c_longlong,
}

#[allow(improper_ctypes)]
extern "C" {
    /// Ends with an entry whose `table` is null.
    static lunatik_nf_constants: [Entry; 0];
}

/// A constant of `linux.nf`: `linux.nf[table][sub][name]`, or
/// `linux.nf[table][name]` without `sub`.
pub(crate) struct Constant {
    /// The table under `linux.nf` ("ip").
    pub(crate) table: &'static CStr,
    /// The table under that one ("pri"), if any.
    pub(crate) sub: Option<&'static CStr>,
    /// The name without its prefix ("FILTER").
    pub(crate) name: &'static CStr,
    /// The kernel's value.
    pub(crate) value: i64,
}

/// Every constant, grouped by table as the headers list them.
pub(crate) fn all() -> impl Iterator<Item = Constant> {
    // The generated array is static and ends with a null `table`; its
    // strings are C literals (static, NUL-terminated).
    let mut entry = (&raw const lunatik_nf_constants).cast::<Entry>();
    core::iter::from_fn(move || {
        // SAFETY: `entry` points into the array, at most at its
        // terminator, past which it never moves.
        let e = unsafe { &*entry };
        if e.table.is_null() {
            return None;
        }
        // SAFETY: `entry` is not the terminator (its `table` is not null),
        // so the array holds a next entry (at worst the terminator) and
        // the pointer stays inside it.
        entry = unsafe { entry.add(1) };
        // SAFETY: the strings are static C literals or null (`sub`).
        Some(unsafe {
            Constant {
                table: CStr::from_ptr(e.table),
                sub: (!e.sub.is_null()).then(|| CStr::from_ptr(e.sub)),
                name: CStr::from_ptr(e.name),
                value: e.value,
            }
        })
    })
}
