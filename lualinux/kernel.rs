// SPDX-License-Identifier: GPL-2.0

//! The kernel glue of the `linux` library: safe wrappers over the shims
//! of lualinux/linux.c (declared in lualinux/linux.h), whose kernel
//! functions are inline or macros.

use crate::glue::net::NetRef;
use core::ffi::{c_char, c_int, c_uint, CStr};
use kernel::bindings;

#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_time_ns() -> u64;
    fn lunatik_ifindex(net: *mut bindings::net, name: *const c_char) -> c_int;
    fn lunatik_num_online_cpus() -> c_uint;
}

/// Nanoseconds since the epoch (`ktime_get_real_ns`).
pub(crate) fn time_ns() -> u64 {
    // SAFETY: reading the clock is allowed in any context.
    unsafe { lunatik_time_ns() }
}

/// The index of interface `name` in `net`, if it has one.
pub(crate) fn ifindex(net: NetRef, name: &CStr) -> Option<u32> {
    // SAFETY: `net` is live (NetRef) and `name` NUL-terminated; the lookup
    // takes and drops its own device reference.
    let index = unsafe { lunatik_ifindex(net.as_ptr(), name.as_ptr()) };
    u32::try_from(index).ok().filter(|&i| i > 0)
}

/// CPUs online.
pub(crate) fn num_online_cpus() -> u32 {
    // SAFETY: reading the online mask's weight is allowed anywhere.
    unsafe { lunatik_num_online_cpus() }
}
