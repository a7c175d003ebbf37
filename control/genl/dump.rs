// SPDX-License-Identifier: GPL-2.0

//! A dump of the `LUNATIK` family in progress and the messages it
//! writes (control/genl/family.rs has the family).

use crate::control::genl::family::family;
use crate::control::genl::message::{Put, Writer};
use crate::glue::net::NetRef;
use core::ffi::c_int;
use core::ptr::NonNull;
use kernel::bindings;

// The shims of control/netlink.c, declared in control/netlink.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_genl_dump_net(cb: *const bindings::netlink_callback) -> *mut bindings::net;
}

/// A dump in progress: the `netlink_callback` of a `dumpit` handler and the
/// buffer it fills.
///
/// Invariant: both pointers are the live arguments of the handler.
pub(crate) struct Dump {
    skb: NonNull<bindings::sk_buff>,
    cb: NonNull<bindings::netlink_callback>,
}

impl Dump {
    /// Wraps the arguments of a `dumpit` handler.
    ///
    /// # Safety
    ///
    /// `skb` and `cb` must be the live arguments of a dump of this family,
    /// valid until the returned value is dropped.
    pub(crate) unsafe fn from_raw(
        skb: *mut bindings::sk_buff,
        cb: *mut bindings::netlink_callback,
    ) -> Option<Self> {
        Some(Self {
            skb: NonNull::new(skb)?,
            cb: NonNull::new(cb)?,
        })
    }

    /// The namespace of the dumping socket.
    pub(crate) fn net(&self) -> NetRef {
        // SAFETY: `cb` is live and its skb belongs to the dumping socket.
        let net = unsafe { lunatik_genl_dump_net(self.cb.as_ptr()) };
        // SAFETY: as for a request: the dumping socket's namespace is
        // non-null and held for the dump.
        unsafe { NetRef::from_raw(net) }
    }

    /// The dump's cursor, kept across calls in the callback's scratch
    /// space (zeroed when the dump starts).
    pub(crate) fn cursor(&self) -> u64 {
        // SAFETY: `ctx` is 48 bytes of scratch space owned by this dump;
        // the read makes no assumption about its alignment.
        unsafe {
            (&raw const (*self.cb.as_ptr()).__bindgen_anon_1.ctx)
                .cast::<u64>()
                .read_unaligned()
        }
    }

    /// Stores the dump's cursor for its next call.
    pub(crate) fn set_cursor(&mut self, v: u64) {
        // SAFETY: `ctx` is 48 bytes of scratch space owned by this dump,
        // which nothing else writes while the dump runs; the write makes
        // no assumption about its alignment.
        unsafe {
            (&raw mut (*self.cb.as_ptr()).__bindgen_anon_1.ctx)
                .cast::<u64>()
                .write_unaligned(v)
        }
    }

    /// Bytes written into the dump's buffer so far.
    pub(crate) fn len(&self) -> c_int {
        // SAFETY: the buffer is live (type invariant).
        let len = unsafe { (*self.skb.as_ptr()).len };
        c_int::try_from(len).unwrap_or(c_int::MAX)
    }

    /// Starts one message of the dump, or `None` when the buffer is full.
    pub(crate) fn message(&mut self, cmd: u8) -> Option<DumpMessage<'_>> {
        // SAFETY: `cb` and `skb` are live; `cb.skb` is the requester's
        // message, whose control block holds its port.
        let (portid, seq) = unsafe {
            let cb = self.cb.as_ref();
            let parms = (*cb.skb).cb.as_ptr().cast::<bindings::netlink_skb_parms>();
            ((*parms).portid, (*cb.nlh).nlmsg_seq)
        };
        let flags = bindings::NLM_F_MULTI as c_int;
        // SAFETY: the dump's skb is live; the family is registered.
        let hdr =
            unsafe { bindings::genlmsg_put(self.skb.as_ptr(), portid, seq, family(), flags, cmd) };
        let hdr = NonNull::new(hdr)?;
        Some(DumpMessage {
            w: Writer { skb: self.skb, hdr },
            _dump: core::marker::PhantomData,
        })
    }
}

/// One message of a dump: dropped unfinished, it is removed from the
/// buffer; [`DumpMessage::end`] keeps it.
pub(crate) struct DumpMessage<'a> {
    w: Writer,
    _dump: core::marker::PhantomData<&'a mut Dump>,
}

impl Put for DumpMessage<'_> {
    fn skb(&mut self) -> *mut bindings::sk_buff {
        self.w.skb.as_ptr()
    }
}

impl DumpMessage<'_> {
    /// Completes the message.
    pub(crate) fn end(self) {
        let me = core::mem::ManuallyDrop::new(self);
        // SAFETY: `hdr` heads the message at the end of the live buffer.
        unsafe { bindings::genlmsg_end(me.w.skb.as_ptr(), me.w.hdr.as_ptr()) };
    }
}

impl Drop for DumpMessage<'_> {
    fn drop(&mut self) {
        // SAFETY: `hdr` heads the unfinished message at the end of the
        // buffer; cancelling trims it off.
        unsafe { bindings::genlmsg_cancel(self.w.skb.as_ptr(), self.w.hdr.as_ptr()) };
    }
}
