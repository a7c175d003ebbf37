// SPDX-License-Identifier: GPL-2.0

//! A request of the `LUNATIK` family being handled: its attributes, its
//! extack and its reply (control/genl/family.rs has the family).

use crate::control::genl::message::Message;
use crate::glue::net::NetRef;
use crate::uapi::protocol::{self, Attrs};
use core::ffi::{c_int, CStr};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

// The shims of control/netlink.c, declared in control/netlink.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_genl_info_net(info: *const bindings::genl_info) -> *mut bindings::net;
    fn lunatik_genl_reply(skb: *mut bindings::sk_buff, info: *mut bindings::genl_info) -> c_int;
}

/// Where a request's error message goes: the `netlink_ext_ack` of a
/// request or a dump.
///
/// # Invariants
///
/// `ack` is null or points to the extack of the request `'a` borrows,
/// live while the request is handled.
pub(crate) struct Ack<'a> {
    ack: *mut bindings::netlink_ext_ack,
    _request: core::marker::PhantomData<&'a Request>,
}

impl Ack<'_> {
    /// Sets the error message (`NL_SET_ERR_MSG`).
    pub(crate) fn message(&mut self, msg: &'static CStr) {
        if let Some(ack) = NonNull::new(self.ack) {
            // SAFETY: by the invariant the extack is live and ours to fill
            // while the request is handled; `msg` is static.
            unsafe { (*ack.as_ptr())._msg = msg.as_ptr().cast() };
        }
    }

    /// Sets a formatted error message (`NL_SET_ERR_MSG_FMT`), cut to the
    /// extack's 80-byte buffer.
    pub(crate) fn message_fmt(&mut self, args: core::fmt::Arguments<'_>) {
        let Some(ack) = NonNull::new(self.ack) else {
            return;
        };
        // SAFETY: by the invariant the extack is live and ours to fill
        // while the request is handled; the buffer is part of it.
        let ack = unsafe { &mut *ack.as_ptr() };
        let mut w = CutWriter {
            buf: &mut ack._msg_buf,
            len: 0,
        };
        let _ = core::fmt::write(&mut w, args);
        let len = w.len;
        ack._msg_buf[len] = 0;
        ack._msg = ack._msg_buf.as_ptr().cast();
    }

    /// Reports that required attribute `ty` is missing
    /// (`NL_SET_ERR_ATTR_MISS` plus a message naming it).
    pub(crate) fn missing(&mut self, ty: u16, what: &'static CStr) {
        if let Some(ack) = NonNull::new(self.ack) {
            // SAFETY: by the invariant the extack is live and ours to fill
            // while the request is handled.
            unsafe {
                (*ack.as_ptr()).miss_type = ty;
                (*ack.as_ptr()).miss_nest = core::ptr::null();
            }
        }
        self.message(what);
    }
}

/// Writes into a byte buffer, keeping room for a NUL and cutting the rest.
struct CutWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for CutWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len + 1 >= self.buf.len() {
                break;
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// A request being handled by a `doit` handler.
///
/// Invariant: `info` is the live `genl_info` of the request, whose
/// attributes the family's policy has validated.
pub(crate) struct Request {
    info: NonNull<bindings::genl_info>,
}

impl Request {
    /// Wraps the request the kernel passed to a `doit` handler.
    ///
    /// # Safety
    ///
    /// `info` must be the `genl_info` of a request of this family, live
    /// until the returned value is dropped.
    pub(crate) unsafe fn from_raw(info: *mut bindings::genl_info) -> Option<Self> {
        NonNull::new(info).map(|info| Self { info })
    }

    fn info(&self) -> &bindings::genl_info {
        // SAFETY: live by the type invariant.
        unsafe { self.info.as_ref() }
    }

    /// The network namespace the request came from.
    pub(crate) fn net(&self) -> NetRef {
        // SAFETY: `info` is live; its namespace outlives the request.
        let net = unsafe { lunatik_genl_info_net(self.info.as_ptr()) };
        // SAFETY: every socket has a namespace (never null), and the
        // requesting socket holds a reference to it for as long as the
        // request is handled.
        unsafe { NetRef::from_raw(net) }
    }

    /// Where the error message goes.
    pub(crate) fn ack(&self) -> Ack<'_> {
        // INVARIANT: the request's own extack, borrowed with the request.
        Ack {
            ack: self.info().extack,
            _request: core::marker::PhantomData,
        }
    }

    /// The payload of the last attribute `ty`, if the request has one.
    ///
    /// This reads the message itself rather than `info->attrs`, whose
    /// length is the op's own `maxattr`: a handler cannot overrun it by
    /// asking for an attribute its op does not take.
    pub(crate) fn attr(&self, ty: u16) -> Option<&[u8]> {
        self.attrs()
            .filter(|&(t, _)| t == ty)
            .last()
            .map(|(_, p)| p)
    }

    /// Every attribute of the request, in order (for repeated ones).
    pub(crate) fn attrs(&self) -> Attrs<'_> {
        let info = self.info();
        // SAFETY: `nlhdr` is the request's validated header; its payload
        // is the generic netlink header followed by the attributes, all
        // within `nlmsg_len` bytes.
        let bytes = unsafe {
            let nlh = info.nlhdr;
            let total = (*nlh).nlmsg_len as usize;
            let start = nlmsg_hdrlen() + genl_hdrlen();
            let base = nlh.cast::<u8>();
            core::slice::from_raw_parts(base.add(start), total.saturating_sub(start))
        };
        Attrs::new(bytes)
    }

    /// A reply to this request with command `cmd`, with room for `size`
    /// bytes of attributes.
    pub(crate) fn reply(&self, cmd: u8, size: usize) -> Result<Message> {
        let info = self.info();
        Message::new(size, false, info.snd_portid, info.snd_seq, 0, cmd)
    }

    /// Sends `msg` to the requester.
    pub(crate) fn send(&self, msg: Message) -> Result {
        let skb = msg.finish();
        // SAFETY: `skb` is a finished message we own; genlmsg_reply takes
        // ownership of it whatever it returns.
        to_result(unsafe { lunatik_genl_reply(skb, self.info.as_ptr()) })
    }
}

/// The length of a netlink header, aligned.
pub(crate) fn nlmsg_hdrlen() -> usize {
    protocol::nla_align(core::mem::size_of::<bindings::nlmsghdr>())
}

/// The length of a generic netlink header, aligned.
pub(crate) fn genl_hdrlen() -> usize {
    protocol::nla_align(core::mem::size_of::<bindings::genlmsghdr>())
}
