// SPDX-License-Identifier: GPL-2.0

//! Writable packets in netfilter hooks (docs/netfilter.md, "Writing
//! packets"): the kernel side of `skb:data(header, true)` and
//! `skb:checksum()` (luanetfilter/skb.rs), over the shims of
//! luanetfilter/write.c (`skb_ensure_writable` and the checksum helpers
//! are inline).

use crate::luanetfilter::kernel::{Packet, SkbInfo};
use crate::luanetfilter::skb::{Extents, PacketOps};
use core::ffi::{c_int, CStr};
use kernel::bindings;

// The shims of luanetfilter/write.c, declared in luanetfilter/write.h.
extern "C" {
    fn lunatik_skb_make_writable(skb: *mut bindings::sk_buff, info: *mut SkbInfo) -> c_int;
    fn lunatik_skb_checksum(skb: *mut bindings::sk_buff) -> c_int;
}

impl PacketOps for Packet {
    fn make_writable(&self) -> Result<Extents, &'static CStr> {
        let mut info = SkbInfo::empty();
        // SAFETY: the hook owns the packet for the call (Packet
        // invariant); `info` is ours to fill.
        if unsafe { lunatik_skb_make_writable(self.as_raw(), &mut info) } != 0 {
            return Err(c"skb: the packet cannot be made writable (no memory)");
        }
        Ok(Extents {
            net: (info.net, info.net_len as usize),
            mac: (!info.mac.is_null()).then_some((info.mac, info.mac_len as usize)),
        })
    }

    fn checksum(&self) -> Result<bool, &'static CStr> {
        // SAFETY: the hook owns the packet (Packet invariant), linearized
        // and made writable by `make_writable` before (skb.rs calls it
        // first).
        match unsafe { lunatik_skb_checksum(self.as_raw()) } {
            1 => Ok(true),
            0 => Ok(false),
            e if e == -(bindings::EPROTONOSUPPORT as c_int) => {
                Err(c"skb:checksum: not an IPv4 or IPv6 packet")
            }
            e if e == -(bindings::EOPNOTSUPP as c_int) => {
                Err(c"skb:checksum: the checksum offloaded is not the transport header's")
            }
            _ => Err(c"skb:checksum: the packet's headers do not fit in it"),
        }
    }
}
