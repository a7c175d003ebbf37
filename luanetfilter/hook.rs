// SPDX-License-Identifier: GPL-2.0

//! The kernel side of netfilter hooks in Lua (docs/netfilter.md): the
//! hook object, the deferred operations that register and unregister it
//! for a state (registering sleeps, so luanetfilter/netfilter.rs only
//! queues them), and the packet path from netfilter into the state's
//! callback.
//!
//! A hook is a resource of its state (states/machine.rs, `Resource`): the
//! state unregisters it, waits for an RCU grace period and frees it
//! before anything else when it dies. A hook on a device (netdev family,
//! inet ingress) is registered through its binding to the device
//! (luanetfilter/device.rs), which also takes it out when the device goes.

use crate::glue::net::NetRef;
use crate::lua::vm::{Arg, Value};
use crate::luadata::data::DataArg;
use crate::luanetfilter::device::DeviceHook;
use crate::luanetfilter::skb::SkbArg;
use crate::states::machine::{
    Apply, CallbackError, Deferred, Description, Owner, Refusal, Resource,
};
use crate::uapi::protocol::attachment_kind;
use core::cell::Cell;
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

// The shims of luanetfilter/netfilter.c, declared in luanetfilter/netfilter.h.
#[allow(improper_ctypes)]
extern "C" {
    fn lunatik_nf_hook_new(
        priv_: *mut c_void,
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

/// What `lunatik_skb_prepare` reports of a packet (`struct
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
    /// Nothing yet, for `lunatik_skb_prepare` to fill.
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
    pub(crate) fn prepare(&self) -> Option<SkbInfo> {
        let mut info = SkbInfo::empty();
        // SAFETY: the hook owns the packet for the duration of the call
        // (type invariant); `info` is ours to fill.
        (unsafe { lunatik_skb_prepare(self.0.get(), &mut info) } == 0).then_some(info)
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

/// A hook a script asked for, by callback id.
#[derive(Clone, Copy)]
pub(crate) struct HookSpec {
    /// The state's callback (`vm::store_callback`) the hook calls.
    pub(crate) id: i64,
    /// The protocol family (`NFPROTO_*`).
    pub(crate) pf: u8,
    /// The hook point.
    pub(crate) hooknum: c_uint,
    /// The priority.
    pub(crate) priority: c_int,
    /// Only packets with this mark, if given.
    pub(crate) mark: Option<u32>,
    /// The verdict of a failed call (`failopen`).
    pub(crate) fail: c_uint,
    /// The device a netdev (or inet ingress) hook goes on, by name,
    /// NUL-terminated.
    pub(crate) dev: Option<[u8; IFNAMSIZ]>,
}

/// Bytes of a device name, its NUL included (`IFNAMSIZ`).
pub(crate) const IFNAMSIZ: usize = 16;

/// A change to a state's hooks, waiting for the chunk to finish.
#[derive(Clone, Copy)]
pub(crate) enum HookOp {
    /// Register a hook.
    Register(HookSpec),
    /// Unregister the hook calling callback `id`.
    Unregister(i64),
}

impl Deferred for HookOp {
    fn exposes(&self) -> bool {
        matches!(self, HookOp::Register(_))
    }

    fn apply(&self, cx: &mut Apply<'_>) -> Result<(), Refusal> {
        match self {
            HookOp::Register(spec) => {
                // SAFETY: the state drops its resources before anything
                // else (`Apply::owner`), so it outlives the hook.
                let registered =
                    unsafe { Hook::register(cx.owner, cx.net, spec) }.and_then(|hook| {
                        let hook: KBox<dyn Resource> = KBox::new(hook, GFP_KERNEL)?;
                        cx.resources.push(hook, GFP_KERNEL)?;
                        Ok(())
                    });
                registered.map_err(|error| {
                    let _ = cx.forget.push(spec.id, GFP_KERNEL);
                    Refusal {
                        error,
                        message: if error == ENODEV {
                            b"netfilter.register: no such device in the state's namespace"
                        } else {
                            b"netfilter.register: the kernel refused the hook"
                        },
                    }
                })
            }
            HookOp::Unregister(id) => {
                if let Some(i) = cx.resources.iter().position(|h| h.id() == *id) {
                    // Unregistered, and waited for, on drop.
                    drop(cx.resources.remove(i));
                    let _ = cx.forget.push(*id, GFP_KERNEL);
                }
                Ok(())
            }
        }
    }
}

/// What the kernel hook knows: the state to call into and how.
struct Target {
    state: *const (dyn Owner + 'static),
    id: i64,
    mark: Option<u32>,
    fail: c_uint,
}

/// A netfilter hook; dropping it unregisters it and waits until no packet
/// can be in its function any more before freeing what the function reads.
///
/// `nf_unregister_net_hook` does not wait: a CPU that loaded the hook's
/// function and private data just before may still be running it. Hooks
/// run inside an RCU read-side section, so a grace period after
/// unregistering (`synchronize_rcu`) is what makes freeing safe.
///
/// # Invariants
///
/// While `registered`, `ops` is registered in `net` with `target` as its
/// private data, through `device` if there is one (which takes it out
/// itself if its device goes away); `target.state` outlives the hook (a
/// state drops its resources before anything else).
pub(crate) struct Hook {
    ops: NonNull<c_void>,
    net: NetRef,
    target: KBox<Target>,
    registered: bool,
    spec: HookSpec,
    device: Option<DeviceHook>,
}

// SAFETY: the hook is shared with the kernel, which calls it on any CPU;
// `Target` is only read there, and the state it points to is Sync.
unsafe impl Send for Hook {}
// SAFETY: `&Hook` gives only the callback id (a plain integer); the
// kernel reads `Target` from any CPU, and the state it calls is Sync.
unsafe impl Sync for Hook {}

impl Hook {
    /// Registers `spec`'s hook in `net`, calling into `state`.
    ///
    /// # Safety
    ///
    /// `state` must outlive the returned hook.
    pub(crate) unsafe fn register(
        state: *const (dyn Owner + 'static),
        net: NetRef,
        spec: &HookSpec,
    ) -> Result<Self> {
        let mut target = KBox::new(
            Target {
                state,
                id: spec.id,
                mark: spec.mark,
                fail: spec.fail,
            },
            GFP_KERNEL,
        )?;
        let priv_ = (&raw mut *target).cast::<c_void>();
        // SAFETY: plain allocation; `priv_` stays valid as long as `target`.
        let ops = unsafe { lunatik_nf_hook_new(priv_, spec.pf, spec.hooknum, spec.priority) };
        let ops = NonNull::new(ops).ok_or(ENOMEM)?;
        let registered = match &spec.dev {
            // SAFETY: `ops` is a fresh nf_hook_ops, freed only after the
            // binding is unhooked (`Drop`); `net` outlives the state's
            // resources (they die with the state, before its namespace).
            Some(dev) => CStr::from_bytes_until_nul(dev)
                .map_err(|_| EINVAL)
                .and_then(|name| unsafe { DeviceHook::register(net, ops, name) })
                .map(Some),
            // SAFETY: `ops` is a fresh nf_hook_ops; `net` is live (NetRef).
            None => to_result(unsafe { lunatik_nf_hook_register(net.as_ptr(), ops.as_ptr()) })
                .map(|()| None),
        };
        let device = match registered {
            Ok(device) => device,
            Err(e) => {
                // SAFETY: never registered.
                unsafe { lunatik_nf_hook_free(ops.as_ptr()) };
                return Err(e);
            }
        };
        // INVARIANT: registered just above, with `target` as private data.
        Ok(Self {
            ops,
            net,
            target,
            registered: true,
            spec: *spec,
            device,
        })
    }
}

impl Resource for Hook {
    fn id(&self) -> i64 {
        self.target.id
    }

    /// Takes the hook out of netfilter. Packets already inside it may still
    /// be running until the next grace period.
    fn unpublish(&mut self) {
        if core::mem::take(&mut self.registered) {
            match &mut self.device {
                Some(device) => device.unhook(),
                // SAFETY: registered in `net` (type invariant), once.
                None => unsafe { lunatik_nf_hook_unregister(self.net.as_ptr(), self.ops.as_ptr()) },
            }
        }
    }

    fn describe(&self) -> Description {
        Description {
            family: Some(u32::from(self.spec.pf)),
            hooknum: Some(self.spec.hooknum),
            priority: Some(self.spec.priority),
            device: self.spec.dev,
            device_gone: self.device.as_ref().is_some_and(DeviceHook::gone),
            ..Description::of(attachment_kind::NETFILTER)
        }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        if self.registered {
            self.unpublish();
            // Process context (hooks are dropped there): waits for every
            // RCU reader, hence every packet inside the hook.
            kernel::sync::rcu::synchronize_rcu();
        }
        // SAFETY: unregistered, and a grace period has passed since (here
        // or in the state's drop, after `unpublish`), so no CPU is in the
        // hook function; `target` is freed right after, and `device`,
        // unhooked, never reads `ops` again.
        unsafe { lunatik_nf_hook_free(self.ops.as_ptr()) };
    }
}

/// Netfilter's entry into a hook (called by the C hook function).
///
/// # Safety
///
/// `priv_` is the private data of a registered [`Hook`] and `skb` the
/// packet netfilter passes, in softirq or process context.
#[no_mangle]
pub(crate) unsafe extern "C" fn lunatik_nf_hook_run(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
) -> c_uint {
    // SAFETY: a registered hook's private data is its live `Target` (Hook
    // invariant); netfilter gives the non-null packet of this call, which
    // the reference does not outlive.
    let (target, skb) = unsafe { (&*priv_.cast::<Target>(), Packet::from_raw(skb)) };
    // SAFETY: the target's state outlives the hook (Hook invariant).
    packet(unsafe { &*target.state }, target, skb)
}

/// Runs the hook's callback on a packet (from netfilter, in softirq or
/// process context) and returns the verdict: the script's `DROP` or
/// `ACCEPT`, and the hook's failure verdict for anything else: an error,
/// the budget, the deadline or the memory cap running out, no verdict, a
/// packet that could not be linearized, or a re-entry on the CPU that is
/// running this replica already. Each failure counts as an error of the
/// state. A replica busy on another CPU is waited for: its entry is
/// bounded in time, and a filter must not be skipped because a sender
/// spread its packets over CPUs.
fn packet(state: &dyn Owner, target: &Target, skb: &Packet) -> c_uint {
    let fail = target.fail;
    // Packets the hook does not want are not linearized.
    if target.mark.is_some_and(|m| m != skb.mark()) {
        return NF_ACCEPT;
    }
    let Some(info) = skb.prepare() else {
        state.refuse();
        return fail;
    };
    // SAFETY: `prepare` linearized the packet; the views cover bytes
    // up to its tail and live only for the call below. The slices are not
    // used after they made the views: `skb:data(h, true)` may move the
    // bytes (skb.rs re-attaches the views then).
    let (net, mac) = unsafe {
        (
            core::slice::from_raw_parts(info.net, info.net_len as usize),
            (!info.mac.is_null())
                .then(|| core::slice::from_raw_parts(info.mac, info.mac_len as usize)),
        )
    };
    let new_mark = Cell::new(None);
    let skb_arg = SkbArg {
        net: DataArg::read_only(net),
        mac: mac.map(DataArg::read_only),
        len: i64::from(info.len),
        ifindex: i64::from(info.ifindex),
        mark: info.mark,
        new_mark: &new_mark,
        ops: Some(skb),
    };
    let arg = Arg::Lent(&skb_arg);
    let mut verdict = fail;
    let mut mark = None;
    let called = state.callback(target.id, &[arg], &mut |r| {
        verdict = match r.get(0) {
            Value::Int(v) if v == i64::from(NF_DROP) || v == i64::from(NF_ACCEPT) => v as c_uint,
            _ => return Err(b"netfilter hook returned no verdict (action.DROP or action.ACCEPT)"),
        };
        mark = match r.get(1) {
            Value::Int(v) => u32::try_from(v).ok(),
            _ => None,
        };
        Ok(())
    });
    match called {
        Ok(()) => {
            if let Some(mark) = mark.or(new_mark.get()) {
                skb.set_mark(mark);
            }
            verdict
        }
        Err(CallbackError::Refused | CallbackError::Failed) => fail,
    }
}
