// SPDX-License-Identifier: GPL-2.0

//! The kernel glue of the netfilter library: safe wrappers over the shims
//! of luanetfilter/netfilter.c (declared in luanetfilter/netfilter.h),
//! since `struct nf_hook_ops` is not in the Rust bindings and the skb
//! helpers are inline.
//!
//! - [`Packet`]: the `sk_buff` netfilter lends a hook for one call.
//! - [`Registration`]: an `nf_hook_ops` registered in a namespace (or on a
//!   device, through luanetfilter/device.rs), which calls a [`Handler`]
//!   for each packet and is unregistered, waited for and freed when
//!   dropped.
//!
//! The hook logic (luanetfilter/hook.rs) implements [`Handler`] and needs
//! no `unsafe` of its own beyond the promise that its state outlives the
//! registration.

use crate::glue::net::NetRef;
use crate::luadata::data::DataArg;
use crate::luanetfilter::device::DeviceHook;
use crate::states::replica::Owner;
use core::ffi::{c_int, c_uint, c_void, CStr};
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// `NF_DROP`.
pub(crate) const NF_DROP: c_uint = 0;
/// `NF_ACCEPT`.
pub(crate) const NF_ACCEPT: c_uint = 1;
/// Bytes of a device name, its NUL included (`IFNAMSIZ`).
pub(crate) const IFNAMSIZ: usize = 16;

/// A hook function as netfilter calls it (`nf_hookfn`): the private data
/// of its `nf_hook_ops`, the packet, and the hook state, unused here.
type HookFn = unsafe extern "C" fn(*mut c_void, *mut bindings::sk_buff, *const c_void) -> c_uint;

// The shims of luanetfilter/netfilter.c, declared in luanetfilter/netfilter.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_nf_hook_new(
        priv_: *mut c_void,
        hook: HookFn,
        pf: u8,
        hooknum: c_uint,
        priority: c_int,
    ) -> *mut c_void;
    fn lunatik_nf_hook_register(net: *mut bindings::net, ops: *mut c_void) -> c_int;
    fn lunatik_nf_hook_unregister(net: *mut bindings::net, ops: *mut c_void);
    fn lunatik_nf_hook_free(ops: *mut c_void);
    fn lunatik_skb_prepare(skb: *mut bindings::sk_buff, info: *mut SkbInfo) -> c_int;
    fn lunatik_skb_mark(skb: *const bindings::sk_buff) -> u32;
    fn lunatik_skb_set_mark(skb: *mut bindings::sk_buff, mark: u32);
}

/// What `lunatik_skb_prepare` (and luanetfilter/write.c's
/// `lunatik_skb_make_writable`) report of a packet (`struct
/// lunatik_skb_info` in luanetfilter/netfilter.h).
#[repr(C)]
pub(crate) struct SkbInfo {
    /// Network header.
    pub(crate) net: *mut u8,
    /// Bytes from it to the end.
    pub(crate) net_len: c_uint,
    /// Link-layer header, or null.
    pub(crate) mac: *mut u8,
    /// Bytes from it to the end.
    pub(crate) mac_len: c_uint,
    /// The packet's length.
    pub(crate) len: c_uint,
    /// The device's index.
    pub(crate) ifindex: c_int,
    /// The packet's mark.
    pub(crate) mark: u32,
}

impl SkbInfo {
    /// Nothing yet, for a shim to fill.
    pub(crate) fn empty() -> Self {
        Self {
            net: core::ptr::null_mut(),
            net_len: 0,
            mac: core::ptr::null_mut(),
            mac_len: 0,
            len: 0,
            ifindex: 0,
            mark: 0,
        }
    }
}

/// A packet inside a hook, borrowed from netfilter for the call.
///
/// # Invariants
///
/// A `&Packet` is the `sk_buff` netfilter passed to the hook running now,
/// which the hook owns until it returns a verdict.
#[repr(transparent)]
pub(crate) struct Packet(Opaque<bindings::sk_buff>);

/// What a linearized packet shows its `skb` object: read-only views of its
/// network and link-layer headers (to the packet's end) and its figures.
pub(crate) struct Prepared<'a> {
    /// From the network header to the end.
    pub(crate) net: DataArg<'a>,
    /// From the link-layer header to the end, if the packet has one.
    pub(crate) mac: Option<DataArg<'a>>,
    /// The packet's length.
    pub(crate) len: u32,
    /// The device's index.
    pub(crate) ifindex: i32,
    /// The packet's mark.
    pub(crate) mark: u32,
}

impl Packet {
    /// The packet netfilter passed to a hook.
    ///
    /// # Safety
    ///
    /// `skb` is the non-null packet of the hook call that is running, and
    /// the reference does not outlive that call.
    unsafe fn from_raw<'a>(skb: *mut bindings::sk_buff) -> &'a Self {
        // SAFETY: `Packet` is a transparent wrapper of the `sk_buff`,
        // which is live for `'a` by the contract.
        unsafe { &*skb.cast::<Self>() }
    }

    /// Linearizes the packet and reads what its `skb` object shows; `None`
    /// if linearizing found no memory.
    ///
    /// The views lend the packet's bytes as they are now: making the packet
    /// writable (luanetfilter/write.rs) may move them, and the `skb`
    /// object then re-attaches its views (luanetfilter/skb.rs).
    pub(crate) fn prepare(&self) -> Option<Prepared<'_>> {
        let mut info = SkbInfo::empty();
        // SAFETY: the hook owns the packet for the duration of the call
        // (type invariant); `info` is ours to fill.
        if unsafe { lunatik_skb_prepare(self.0.get(), &mut info) } != 0 {
            return None;
        }
        // SAFETY: `lunatik_skb_prepare` linearized the packet; the views
        // cover bytes up to its tail, and live no longer than `&self`, the
        // hook call. The slices are not used after they made the views:
        // `skb:data(h, true)` may move the bytes (skb.rs re-attaches the
        // views then).
        let (net, mac) = unsafe {
            (
                core::slice::from_raw_parts(info.net, info.net_len as usize),
                (!info.mac.is_null())
                    .then(|| core::slice::from_raw_parts(info.mac, info.mac_len as usize)),
            )
        };
        Some(Prepared {
            net: DataArg::read_only(net),
            mac: mac.map(DataArg::read_only),
            len: info.len,
            ifindex: info.ifindex,
            mark: info.mark,
        })
    }

    /// The `sk_buff`, for the shims that change it (luanetfilter/write.rs).
    pub(crate) fn as_raw(&self) -> *mut bindings::sk_buff {
        self.0.get()
    }

    /// The packet's mark, read without touching its data.
    pub(crate) fn mark(&self) -> u32 {
        // SAFETY: the hook owns the packet (type invariant); reading the
        // mark touches only the `sk_buff` itself.
        unsafe { lunatik_skb_mark(self.0.get()) }
    }

    /// Sets the packet's mark.
    pub(crate) fn set_mark(&self, mark: u32) {
        // SAFETY: the hook owns the packet (type invariant), so it may
        // change its mark before returning the verdict.
        unsafe { lunatik_skb_set_mark(self.0.get(), mark) }
    }
}

/// What a netfilter hook does with each packet: the hook logic
/// (luanetfilter/hook.rs) implements it, [`Registration`] calls it.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The verdict on `skb`, which calls into the state `owner`. Runs in
    /// softirq or process context, on any CPU, inside an RCU read-side
    /// section.
    fn hook(&self, owner: &dyn Owner, skb: &Packet) -> c_uint;
}

/// Where a hook goes: the protocol family (`NFPROTO_*`), the hook point,
/// the priority and, for hooks that live in a device (the netdev family,
/// inet ingress), the device's name.
pub(crate) struct Point<'a> {
    /// The protocol family.
    pub(crate) pf: u8,
    /// The hook point.
    pub(crate) hooknum: c_uint,
    /// The priority.
    pub(crate) priority: c_int,
    /// The device, by name.
    pub(crate) device: Option<&'a CStr>,
}

/// What the hook function reads: the state to call into and the handler.
struct Private<T> {
    owner: *const (dyn Owner + 'static),
    handler: T,
}

/// A registered netfilter hook; dropping it unregisters it and waits until
/// no packet can be in its function any more before freeing what the
/// function reads.
///
/// `nf_unregister_net_hook` does not wait: a CPU that loaded the hook's
/// function and private data just before may still be running it. Hooks
/// run inside an RCU read-side section, so a grace period after
/// unregistering (`synchronize_rcu`) is what makes freeing safe.
///
/// # Invariants
///
/// `ops` is an `nf_hook_ops` of `lunatik_nf_hook_new` whose hook function
/// is [`run::<T>`] and private data `private`. While `registered`, it is
/// registered in `net`, through `device` if there is one (which takes it
/// out itself if its device goes away); `private.owner` outlives the
/// registration.
pub(crate) struct Registration<T: Handler> {
    ops: NonNull<c_void>,
    net: NetRef,
    private: KBox<Private<T>>,
    registered: bool,
    device: Option<DeviceHook>,
}

// SAFETY: netfilter calls the hook on any CPU, where it only reads
// `private`: the handler is `Send + Sync` and the state `owner` points to
// is `Sync` (`Owner: Sync`); the rest is used through `&mut self`.
unsafe impl<T: Handler> Send for Registration<T> {}
// SAFETY: `&Registration` reads the handler (`Sync`) and the device's
// `gone` flag (atomically, DeviceHook); the kernel reads `private` from
// any CPU, and the state it calls is `Sync`.
unsafe impl<T: Handler> Sync for Registration<T> {}

impl<T: Handler> Registration<T> {
    /// Registers a hook at `point` in `net` that calls `handler` with the
    /// state `owner` for each packet. `ENODEV` when the device `point`
    /// names is not in `net`.
    ///
    /// # Safety
    ///
    /// `owner` is live and outlives the returned registration.
    pub(crate) unsafe fn new(
        owner: *const (dyn Owner + 'static),
        net: NetRef,
        point: &Point<'_>,
        handler: T,
    ) -> Result<Self> {
        let mut private = KBox::new(Private { owner, handler }, GFP_KERNEL)?;
        let priv_ = (&raw mut *private).cast::<c_void>();
        // SAFETY: plain allocation; `priv_` stays valid as long as
        // `private`, which the registration keeps until it frees `ops`.
        let ops = unsafe {
            lunatik_nf_hook_new(priv_, run::<T>, point.pf, point.hooknum, point.priority)
        };
        let ops = NonNull::new(ops).ok_or(ENOMEM)?;
        let registered = match point.device {
            // SAFETY: `ops` is a fresh nf_hook_ops, freed only after the
            // binding is unhooked (`Drop`); `net` outlives the
            // registration (a state's resources die with the state, before
            // its namespace).
            Some(name) => unsafe { DeviceHook::register(net, ops, name) }.map(Some),
            // SAFETY: `ops` is a fresh nf_hook_ops; `net` is live (NetRef).
            None => to_result(unsafe { lunatik_nf_hook_register(net.as_ptr(), ops.as_ptr()) })
                .map(|()| None),
        };
        let device = match registered {
            Ok(device) => device,
            Err(e) => {
                // SAFETY: never registered, so no CPU runs its function.
                unsafe { lunatik_nf_hook_free(ops.as_ptr()) };
                return Err(e);
            }
        };
        // INVARIANT: registered just above, with `private` as private data
        // and `run::<T>` as function; `owner` by the contract.
        Ok(Self {
            ops,
            net,
            private,
            registered: true,
            device,
        })
    }

    /// The handler the hook calls.
    pub(crate) fn handler(&self) -> &T {
        &self.private.handler
    }

    /// Whether the hook's device went away, taking the hook out of
    /// netfilter (never for a hook that is not on a device).
    pub(crate) fn device_gone(&self) -> bool {
        self.device.as_ref().is_some_and(DeviceHook::gone)
    }

    /// Takes the hook out of netfilter (once). Packets already inside it
    /// may still be running until the next grace period, which dropping
    /// the registration waits for unless its owner did since. Sleeps.
    pub(crate) fn unregister(&mut self) {
        if core::mem::take(&mut self.registered) {
            match &mut self.device {
                Some(device) => device.unhook(),
                // SAFETY: registered in `net` (type invariant), once.
                None => unsafe { lunatik_nf_hook_unregister(self.net.as_ptr(), self.ops.as_ptr()) },
            }
        }
    }
}

impl<T: Handler> Drop for Registration<T> {
    fn drop(&mut self) {
        if self.registered {
            self.unregister();
            // Process context (hooks are dropped there): waits for every
            // RCU reader, hence every packet inside the hook.
            kernel::sync::rcu::synchronize_rcu();
        }
        // SAFETY: unregistered, and a grace period has passed since (here,
        // or in the owner's drop after `unregister`), so no CPU is in the
        // hook function; `private` is freed right after, and `device`,
        // unhooked, never reads `ops` again.
        unsafe { lunatik_nf_hook_free(self.ops.as_ptr()) };
    }
}

/// Netfilter's entry into a hook: the function of every [`Registration`]
/// of handler `T`.
///
/// # Safety
///
/// `priv_` is the private data of a registered `Registration<T>` and `skb`
/// the packet netfilter passes, in softirq or process context.
unsafe extern "C" fn run<T: Handler>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    _state: *const c_void,
) -> c_uint {
    // SAFETY: a registered hook's private data is its live `Private<T>`
    // (Registration invariant, freed only a grace period after the hook
    // left netfilter); netfilter gives the non-null packet of this call,
    // which the reference does not outlive; the state outlives the
    // registration (Registration invariant).
    let (private, skb, owner) = unsafe {
        let private = &*priv_.cast::<Private<T>>();
        (private, Packet::from_raw(skb), &*private.owner)
    };
    private.handler.hook(owner, skb)
}
