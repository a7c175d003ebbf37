// SPDX-License-Identifier: GPL-2.0

//! Building a message of the `LUNATIK` family: attributes, nests, and a
//! message in a buffer of its own (a reply or an event).

use crate::control::genl::family::{family, gfp, multicast_event};
use crate::glue::net::NetRef;
use crate::uapi::protocol;
use core::ffi::{c_int, c_void};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

// The shims of control/netlink.c, declared in control/netlink.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_nla_nest_start(skb: *mut bindings::sk_buff, ty: c_int) -> *mut bindings::nlattr;
    fn lunatik_nla_nest_end(skb: *mut bindings::sk_buff, start: *mut bindings::nlattr);
    fn lunatik_nla_nest_cancel(skb: *mut bindings::sk_buff, start: *mut bindings::nlattr);
}

/// Writes attributes into a message.
///
/// Invariant: `hdr` is the generic netlink header of the message being
/// built at the end of the live buffer `skb`.
pub(crate) struct Writer {
    /// The buffer.
    pub(crate) skb: NonNull<bindings::sk_buff>,
    /// The message's generic netlink header.
    pub(crate) hdr: NonNull<c_void>,
}

/// Building attributes into a message.
pub(crate) trait Put {
    /// The buffer being written.
    fn skb(&mut self) -> *mut bindings::sk_buff;

    /// Puts attribute `ty` with payload `bytes` (`EMSGSIZE` when full).
    fn put_bytes(&mut self, ty: u16, bytes: &[u8]) -> Result {
        let len = c_int::try_from(bytes.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: the buffer is live; `bytes` is readable for `len` bytes.
        to_result(unsafe {
            bindings::nla_put(self.skb(), c_int::from(ty), len, bytes.as_ptr().cast())
        })
    }

    /// Puts a NUL-terminated string attribute holding `s`.
    fn put_str(&mut self, ty: u16, s: &[u8]) -> Result {
        let len = c_int::try_from(s.len() + 1).map_err(|_| EMSGSIZE)?;
        // SAFETY: the buffer is live; on success the reserved payload has
        // room for `len` bytes, which are all written below.
        unsafe {
            let nla = bindings::nla_reserve(self.skb(), c_int::from(ty), len);
            let nla = NonNull::new(nla).ok_or(EMSGSIZE)?;
            let data = nla.as_ptr().cast::<u8>().add(protocol::NLA_HDRLEN);
            core::ptr::copy_nonoverlapping(s.as_ptr(), data, s.len());
            *data.add(s.len()) = 0;
        }
        Ok(())
    }

    /// Puts a `u32` attribute.
    fn put_u32(&mut self, ty: u16, v: u32) -> Result {
        self.put_bytes(ty, &v.to_ne_bytes())
    }

    /// Puts an `NLA_UINT` attribute: 4 bytes when the value fits, else 8.
    fn put_uint(&mut self, ty: u16, v: u64) -> Result {
        match u32::try_from(v) {
            Ok(v) => self.put_u32(ty, v),
            Err(_) => self.put_bytes(ty, &v.to_ne_bytes()),
        }
    }

    /// Puts a flag attribute.
    fn put_flag(&mut self, ty: u16) -> Result {
        self.put_bytes(ty, &[])
    }

    /// Puts a nest `ty` whose attributes `f` writes; on failure the nest
    /// is removed again.
    fn put_nest(&mut self, ty: u16, f: impl FnOnce(&mut Nest) -> Result) -> Result {
        let skb = self.skb();
        // SAFETY: the buffer is live.
        let start = unsafe { lunatik_nla_nest_start(skb, c_int::from(ty)) };
        if start.is_null() {
            return Err(EMSGSIZE);
        }
        let mut nest = Nest { skb };
        match f(&mut nest) {
            // SAFETY: `start` is the nest opened above in this buffer.
            Ok(()) => unsafe { lunatik_nla_nest_end(skb, start) },
            Err(e) => {
                // SAFETY: `start` is the nest opened above in this live
                // buffer, not yet ended; cancelling trims the buffer back
                // to it.
                unsafe { lunatik_nla_nest_cancel(skb, start) };
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The inside of a nest being written.
pub(crate) struct Nest {
    skb: *mut bindings::sk_buff,
}

impl Put for Nest {
    fn skb(&mut self) -> *mut bindings::sk_buff {
        self.skb
    }
}

/// A message in a buffer of its own (a reply or an event), freed if it is
/// dropped unsent.
pub(crate) struct Message {
    w: Writer,
}

impl Put for Message {
    fn skb(&mut self) -> *mut bindings::sk_buff {
        self.w.skb.as_ptr()
    }
}

impl Message {
    /// A message for port `portid`, sequence `seq`, with command `cmd` and
    /// room for `size` bytes of attributes, allocated without sleeping
    /// when `atomic`.
    pub(crate) fn new(
        size: usize,
        atomic: bool,
        portid: u32,
        seq: u32,
        nl_flags: c_int,
        cmd: u8,
    ) -> Result<Self> {
        // SAFETY: plain allocation.
        let skb = unsafe { bindings::genlmsg_new(size, gfp(atomic)) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: `skb` is a fresh message buffer; the family is registered.
        let hdr =
            unsafe { bindings::genlmsg_put(skb.as_ptr(), portid, seq, family(), nl_flags, cmd) };
        let Some(hdr) = NonNull::new(hdr) else {
            // SAFETY: `skb` is ours and unused.
            unsafe { bindings::nlmsg_free(skb.as_ptr()) };
            return Err(EMSGSIZE);
        };
        Ok(Self {
            w: Writer { skb, hdr },
        })
    }

    /// An event for the `events` group with room for `size` bytes of
    /// attributes, allocated without sleeping when `atomic`.
    pub(crate) fn event(size: usize, atomic: bool) -> Result<Self> {
        Self::new(size, atomic, 0, 0, 0, protocol::cmd::EVENT)
    }

    /// Ends the message and hands its buffer over.
    pub(crate) fn finish(self) -> *mut bindings::sk_buff {
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: `hdr` heads the message in the live buffer we own.
        unsafe { bindings::genlmsg_end(me.w.skb.as_ptr(), me.w.hdr.as_ptr()) };
        me.w.skb.as_ptr()
    }

    /// Sends the event to the `events` listeners of `net` (never
    /// sleeping: it runs inside an RCU read-side section), or drops it if
    /// the family is going away.
    pub(crate) fn multicast(self, net: NetRef) -> Result {
        let skb = self.finish();
        // SAFETY: a finished message of this family, ours to hand over.
        unsafe { multicast_event(net, skb) }
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        // SAFETY: the buffer is ours and was never handed over.
        unsafe { bindings::nlmsg_free(self.w.skb.as_ptr()) };
    }
}
