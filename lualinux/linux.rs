// SPDX-License-Identifier: GPL-2.0

//! The `linux` and `lunatik` libraries (docs/architecture.md, "Libraries
//! for scripts"), which need the kernel: `linux.random([m [, n]])` from
//! the kernel's RNG, `linux.time()` (nanoseconds since the epoch),
//! `linux.errname(e)` (the name of an errno, such as "ENOENT", for `e` or
//! `-e`), `linux.ifindex(name)` (the interface's index in the state's
//! namespace, or nil), `linux.numcpus()` (CPUs online); `lunatik.version`
//! and `lunatik.name` (the current state's name).
//!
//! Written against the safe handle (lua/handle.rs), with its kernel glue in
//! lualinux/kernel.rs: no `unsafe` here. Each function may raise through
//! its argument checks and holds no value with a destructor (the longjmp
//! rule, lua/handle.rs).

use crate::lua::ffi::lua_CFunction;
use crate::lua::Lua;
use crate::lua_fn;
use crate::lualinux::kernel as kernel_glue;
use crate::states::library::Library;
use core::ffi::{c_int, CStr};

/// `linux.random()`: any integer; `(m)`: `1..=m`; `(m, n)`: `m..=n`.
fn random(lua: &mut Lua<'_>) -> c_int {
    let (lo, hi) = match lua.args() {
        0 => {
            lua.push_integer(crate::glue::random::u64() as i64);
            return 1;
        }
        1 => (1, lua.check_integer(1)),
        _ => (lua.check_integer(1), lua.check_integer(2)),
    };
    if lo > hi {
        let arg = lua.args().min(2);
        lua.arg_error(arg, c"interval is empty");
    }
    let span = (hi as u64).wrapping_sub(lo as u64);
    lua.push_integer((lo as u64).wrapping_add(crate::glue::random::upto(span)) as i64);
    1
}

/// `linux.time()`: nanoseconds since the epoch.
fn time(lua: &mut Lua<'_>) -> c_int {
    lua.push_integer(kernel_glue::time_ns() as i64);
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
/// (The kernel's own table, `Error::name`, needs
/// CONFIG_SYMBOLIC_ERRNAME, which kernels often leave out.)
fn errname(lua: &mut Lua<'_>) -> c_int {
    let e = lua.check_integer(1).checked_abs().unwrap_or(0);
    match ERRNOS.iter().find(|(n, _)| *n == e) {
        Some((_, name)) => lua.push_bytes(name.to_bytes()),
        None => lua.push_nil(),
    }
    1
}

/// `linux.ifindex(name)`: the index of the interface in the state's
/// namespace, or nil.
fn ifindex(lua: &mut Lua<'_>) -> c_int {
    // Interface names are shorter than IFNAMSIZ (16), embedded NULs
    // included.
    if lua.check_bytes(1).len() >= 16 {
        lua.push_nil();
        return 1;
    }
    let name = lua.check_string(1);
    let (net, _) = crate::states::replica::lua_context(lua);
    match kernel_glue::ifindex(net, name) {
        Some(index) => lua.push_integer(i64::from(index)),
        None => lua.push_nil(),
    }
    1
}

/// `linux.numcpus()`: CPUs online.
fn numcpus(lua: &mut Lua<'_>) -> c_int {
    lua.push_integer(i64::from(kernel_glue::num_online_cpus()));
    1
}

/// `require "linux"`.
fn open_linux(lua: &mut Lua<'_>) -> c_int {
    let functions: [(&CStr, lua_CFunction); 5] = [
        (c"random", lua_fn!(random)),
        (c"time", lua_fn!(time)),
        (c"errname", lua_fn!(errname)),
        (c"ifindex", lua_fn!(ifindex)),
        (c"numcpus", lua_fn!(numcpus)),
    ];
    lua.push_table(functions.len());
    lua.set_functions(&functions);
    1
}

/// `require "lunatik"`: `{ version = ..., name = <this state's name> }`.
fn open_lunatik(lua: &mut Lua<'_>) -> c_int {
    let name = crate::states::replica::lua_state_name(lua);
    lua.push_table(2);
    lua.push_bytes(crate::lua::interp::VERSION.to_bytes());
    lua.set_field(c"version");
    lua.push_bytes(name.as_bytes());
    lua.set_field(c"name");
    1
}

/// The `linux` and `lunatik` libraries.
pub(crate) static LIBRARY: Library = Library::new(
    "linux",
    &[
        (c"linux", lua_fn!(open_linux)),
        (c"lunatik", lua_fn!(open_lunatik)),
    ],
);
