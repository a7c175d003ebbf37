// SPDX-License-Identifier: GPL-2.0

//! The `linux` and `lunatik` libraries (docs/architecture.md, "Libraries
//! for scripts"), which need the kernel: `linux.random([m [, n]])` from
//! the kernel's RNG, `linux.time()` (nanoseconds since the epoch),
//! `linux.errname(e)` (the name of an errno, such as "ENOENT", for `e` or
//! `-e`), `linux.ifindex(name)` (the interface's index in the state's
//! namespace, or nil), `linux.numcpus()` (CPUs online); `lunatik.version`
//! and `lunatik.name` (the current state's name).
//!
//! Each function is a `lua_CFunction` that may raise through its argument
//! checks and holds no value with a destructor.

use crate::ffi::*;
use crate::library::Library;
use core::ffi::{c_char, c_int, c_uint, CStr};
use kernel::bindings;

// The shims of lualinux/linux.c, declared in lualinux/linux.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_time_ns() -> u64;
    fn lunatik_ifindex(net: *mut bindings::net, name: *const c_char) -> c_int;
    fn lunatik_num_online_cpus() -> c_uint;
}

/// A uniformly random integer in `0..=span`.
fn random_upto(span: u64) -> u64 {
    // SAFETY: the kernel RNG may be read from any context.
    let draw = || unsafe { bindings::get_random_u64() };
    if span == u64::MAX {
        return draw();
    }
    let n = span + 1;
    // Reject the top, partial stretch so every value is equally likely.
    let limit = u64::MAX - (u64::MAX % n);
    loop {
        let r = draw();
        if r < limit {
            return r % n;
        }
    }
}

/// `linux.random()`: any integer; `(m)`: `1..=m`; `(m, n)`: `m..=n`.
unsafe extern "C" fn random(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; the checks may raise.
    unsafe {
        let (lo, hi) = match lua_gettop(L) {
            0 => {
                lua_pushinteger(L, random_upto(u64::MAX) as i64);
                return 1;
            }
            1 => (1, luaL_checkinteger(L, 1)),
            _ => (luaL_checkinteger(L, 1), luaL_checkinteger(L, 2)),
        };
        if lo > hi {
            luaL_argerror(L, lua_gettop(L).min(2), c"interval is empty".as_ptr());
        }
        let span = (hi as u64).wrapping_sub(lo as u64);
        lua_pushinteger(L, (lo as u64).wrapping_add(random_upto(span)) as i64);
    }
    1
}

/// `linux.time()`: nanoseconds since the epoch.
unsafe extern "C" fn time(L: *mut lua_State) -> c_int {
    // SAFETY: reading the clock is allowed in any context.
    unsafe { lua_pushinteger(L, lunatik_time_ns() as i64) };
    1
}

/// Names of the errnos scripts meet (include/uapi/asm-generic/errno*.h).
const ERRNOS: &[(i64, &CStr)] = &[
    (1, c"EPERM"),
    (2, c"ENOENT"),
    (3, c"ESRCH"),
    (4, c"EINTR"),
    (5, c"EIO"),
    (6, c"ENXIO"),
    (7, c"E2BIG"),
    (9, c"EBADF"),
    (11, c"EAGAIN"),
    (12, c"ENOMEM"),
    (13, c"EACCES"),
    (14, c"EFAULT"),
    (16, c"EBUSY"),
    (17, c"EEXIST"),
    (19, c"ENODEV"),
    (22, c"EINVAL"),
    (24, c"EMFILE"),
    (27, c"EFBIG"),
    (28, c"ENOSPC"),
    (32, c"EPIPE"),
    (34, c"ERANGE"),
    (38, c"ENOSYS"),
    (61, c"ENODATA"),
    (62, c"ETIME"),
    (71, c"EPROTO"),
    (74, c"EBADMSG"),
    (75, c"EOVERFLOW"),
    (90, c"EMSGSIZE"),
    (93, c"EPROTONOSUPPORT"),
    (95, c"EOPNOTSUPP"),
    (97, c"EAFNOSUPPORT"),
    (98, c"EADDRINUSE"),
    (99, c"EADDRNOTAVAIL"),
    (100, c"ENETDOWN"),
    (101, c"ENETUNREACH"),
    (103, c"ECONNABORTED"),
    (104, c"ECONNRESET"),
    (105, c"ENOBUFS"),
    (110, c"ETIMEDOUT"),
    (111, c"ECONNREFUSED"),
    (113, c"EHOSTUNREACH"),
    (114, c"EALREADY"),
    (115, c"EINPROGRESS"),
    (125, c"ECANCELED"),
];

/// `linux.errname(e)`: "ENOENT" for 2 or -2; nil for an unknown number.
unsafe extern "C" fn errname(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; the check may raise.
    unsafe {
        let e = luaL_checkinteger(L, 1).checked_abs().unwrap_or(0);
        match ERRNOS.iter().find(|(n, _)| *n == e) {
            Some((_, name)) => {
                lua_pushstring(L, name.as_ptr());
            }
            None => lua_pushnil(L),
        }
    }
    1
}

/// `linux.ifindex(name)`: the index of the interface in the state's
/// namespace, or nil.
unsafe extern "C" fn ifindex(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; the check may raise; the name stays on the
    // stack (NUL-terminated by Lua) during the lookup, which takes and
    // drops its own device reference.
    unsafe {
        let mut len = 0usize;
        let name = luaL_checklstring(L, 1, &mut len);
        let (net, _) = crate::machine::context(L);
        // Interface names are shorter than IFNAMSIZ (16).
        let index = if len < 16 {
            lunatik_ifindex(net.as_ptr(), name)
        } else {
            0
        };
        if index > 0 {
            lua_pushinteger(L, i64::from(index));
        } else {
            lua_pushnil(L);
        }
    }
    1
}

/// `linux.numcpus()`: CPUs online.
unsafe extern "C" fn numcpus(L: *mut lua_State) -> c_int {
    // SAFETY: reading the online mask's weight is allowed anywhere.
    unsafe { lua_pushinteger(L, i64::from(lunatik_num_online_cpus())) };
    1
}

/// `require "linux"`.
///
/// # Safety
///
/// Called by Lua (it raises on memory errors).
unsafe extern "C" fn open_linux(L: *mut lua_State) -> c_int {
    let functions: [(&CStr, lua_CFunction); 5] = [
        (c"random", random),
        (c"time", time),
        (c"errname", errname),
        (c"ifindex", ifindex),
        (c"numcpus", numcpus),
    ];
    // SAFETY: as above.
    unsafe {
        lua_createtable(L, 0, functions.len() as c_int);
        for (name, f) in functions {
            lua_pushcclosure(L, f, 0);
            lua_setfield(L, -2, name.as_ptr());
        }
    }
    1
}

/// The version `lunatik.version` reports.
const VERSION: &CStr = c"lunatik-rs 0.1.0 (Lua 5.5)";

/// `require "lunatik"`: `{ version = ..., name = <this state's name> }`.
///
/// # Safety
///
/// Called by Lua in a kernel machine (it raises on memory errors).
unsafe extern "C" fn open_lunatik(L: *mut lua_State) -> c_int {
    // SAFETY: as above.
    unsafe {
        let name = crate::machine::state_name(L);
        lua_createtable(L, 0, 2);
        lua_pushstring(L, VERSION.as_ptr());
        lua_setfield(L, -2, c"version".as_ptr());
        lua_pushlstring(L, name.as_bytes().as_ptr().cast(), name.as_bytes().len());
        lua_setfield(L, -2, c"name".as_ptr());
    }
    1
}

/// The `linux` and `lunatik` libraries.
pub(crate) static LIBRARY: Library = Library::new(
    "linux",
    &[(c"linux", open_linux), (c"lunatik", open_lunatik)],
);
