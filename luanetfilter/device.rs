// SPDX-License-Identifier: GPL-2.0

//! A netfilter hook bound to a network device (docs/netfilter.md, "Hooks
//! on a device"): the netdev family's ingress and egress hooks and inet's
//! ingress hook live in the device, which the script names. The binding
//! (C: luanetfilter/device.c) holds a reference to the device and
//! unregisters the hook, and lets the device go, when the device is
//! unregistered (deleted, or moved to another namespace), since the
//! kernel does not; the hook then stays a resource of its state, gone,
//! until it is unregistered or the state dies.

use crate::glue::net::NetRef;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

// The shims of luanetfilter/device.c, declared in luanetfilter/device.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_nf_dev_hook(
        net: *mut bindings::net,
        ops: *mut c_void,
        name: *const c_char,
        out: *mut *mut c_void,
    ) -> c_int;
    fn lunatik_nf_dev_unhook(d: *mut c_void);
    fn lunatik_nf_dev_gone(d: *const c_void) -> bool;
    fn lunatik_nf_dev_free(d: *mut c_void);
}

/// A hook registered on a device of a namespace.
///
/// # Invariants
///
/// `binding` is a live binding of `lunatik_nf_dev_hook`; until `unhook`
/// it may have the hook registered on its device (unless the device went
/// away), afterwards it has neither the hook nor the device nor its
/// notifier. The hook's `nf_hook_ops` outlives it while `hooked`.
pub(crate) struct DeviceHook {
    binding: NonNull<c_void>,
    hooked: bool,
}

// SAFETY: the binding is plain memory used under RTNL (the C side) or
// through `&mut self`; `gone` is a READ_ONCE of a flag.
unsafe impl Send for DeviceHook {}
// SAFETY: `&self` only reads the `gone` flag, atomically.
unsafe impl Sync for DeviceHook {}

impl DeviceHook {
    /// Registers `ops` on the device called `name` in `net`: `ENODEV` if
    /// there is none (or it is going away).
    ///
    /// # Safety
    ///
    /// `ops` is an unregistered `nf_hook_ops` of the netdev family, or of
    /// inet's ingress hook, that outlives the returned value's `unhook`
    /// (or its drop), and `net` outlives the returned value.
    pub(crate) unsafe fn register(net: NetRef, ops: NonNull<c_void>, name: &CStr) -> Result<Self> {
        let mut binding = core::ptr::null_mut();
        // SAFETY: `net` is live (NetRef), `ops` by the contract, `name`
        // is NUL-terminated, `binding` ours to fill.
        to_result(unsafe {
            lunatik_nf_dev_hook(net.as_ptr(), ops.as_ptr(), name.as_ptr(), &mut binding)
        })?;
        // INVARIANT: the call succeeded, so `binding` is a live binding with
        // the hook registered.
        Ok(Self {
            binding: NonNull::new(binding).ok_or(EINVAL)?,
            hooked: true,
        })
    }

    /// Whether the device went away, taking the hook out of netfilter.
    pub(crate) fn gone(&self) -> bool {
        // SAFETY: the binding is live (type invariant).
        unsafe { lunatik_nf_dev_gone(self.binding.as_ptr()) }
    }

    /// Takes the hook out of netfilter (unless the device went away,
    /// which did), lets the device go and stops listening to its events.
    /// Packets already inside the hook may run until the next grace
    /// period. Sleeps (RTNL).
    pub(crate) fn unhook(&mut self) {
        if core::mem::take(&mut self.hooked) {
            // SAFETY: a live binding (type invariant), unhooked once.
            unsafe { lunatik_nf_dev_unhook(self.binding.as_ptr()) };
        }
    }
}

impl Drop for DeviceHook {
    fn drop(&mut self) {
        self.unhook();
        // SAFETY: unhooked: nothing reaches the binding any more (its
        // notifier is unregistered).
        unsafe { lunatik_nf_dev_free(self.binding.as_ptr()) };
    }
}
