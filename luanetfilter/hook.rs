// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks in Lua (docs/netfilter.md): the hook a state asks for,
//! the deferred operations that register and unregister it (registering
//! sleeps, so luanetfilter/netfilter.rs only queues them), and what the
//! hook does with a packet: call the state's callback and turn its
//! results into a verdict.
//!
//! A hook is a resource of its state (states/replica.rs, `Resource`): the
//! state unregisters it, waits for an RCU grace period and frees it
//! before anything else when it dies. The kernel side, the `sk_buff` and
//! the `nf_hook_ops` registration, is in luanetfilter/kernel.rs; a hook on
//! a device (netdev family, inet ingress) is registered there through its
//! binding to the device (luanetfilter/device.rs), which also takes it
//! out when the device goes.

use crate::lua::interp::{Arg, Value};
use crate::luanetfilter::kernel::{
    Handler, Packet, Point, Registration, IFNAMSIZ, NF_ACCEPT, NF_DROP,
};
use crate::luanetfilter::skb::SkbArg;
use crate::states::replica::{
    Apply, CallbackError, Deferred, Description, Owner, Refusal, Resource,
};
use crate::uapi::protocol::attachment_kind;
use core::cell::Cell;
use core::ffi::{c_int, c_uint, CStr};
use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;

/// A hook a script asked for, by callback id.
#[derive(Clone, Copy)]
pub(crate) struct HookSpec {
    /// The state's callback (`interp::store_callback`) the hook calls.
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

    fn repeat(&self) -> Option<i64> {
        match self {
            // Each registration makes a hook.
            HookOp::Register(_) => None,
            // Unregistering a hook twice is unregistering it once.
            HookOp::Unregister(id) => Some(*id),
        }
    }

    fn apply(&self, cx: &mut Apply<'_>) -> Result<(), Refusal> {
        match self {
            HookOp::Register(spec) => {
                let registered = point(spec).and_then(|point| {
                    let filter = Filter {
                        id: spec.id,
                        mark: spec.mark,
                        fail: spec.fail,
                    };
                    // SAFETY: the hook goes into the state's resources
                    // just below (or is dropped, unregistering it), and
                    // the state drops its resources before anything else
                    // (`Apply::owner`), so it outlives the registration.
                    let registration =
                        unsafe { Registration::new(cx.owner, cx.net, &point, filter) }?;
                    let hook = Hook {
                        registration,
                        spec: *spec,
                    };
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

/// What the hook does with a packet: which callback of the state it
/// calls, on which packets, and the verdict when that fails.
struct Filter {
    id: i64,
    mark: Option<u32>,
    fail: c_uint,
}

/// A netfilter hook of a state, a resource in its list; dropping it
/// unregisters it and waits for the packets inside (kernel.rs,
/// `Registration`).
pub(crate) struct Hook {
    registration: Registration<Filter>,
    spec: HookSpec,
}

/// Where `spec`'s hook goes.
fn point(spec: &HookSpec) -> Result<Point<'_>> {
    let device = match &spec.dev {
        Some(dev) => Some(CStr::from_bytes_until_nul(dev).map_err(|_| EINVAL)?),
        None => None,
    };
    Ok(Point {
        pf: spec.pf,
        hooknum: spec.hooknum,
        priority: spec.priority,
        device,
    })
}

impl Resource for Hook {
    fn id(&self) -> i64 {
        self.registration.handler().id
    }

    /// Takes the hook out of netfilter. Packets already inside it may still
    /// be running until the next grace period.
    fn unpublish(&mut self) {
        self.registration.unregister();
    }

    fn describe(&self) -> Description {
        Description {
            family: Some(u32::from(self.spec.pf)),
            hooknum: Some(self.spec.hooknum),
            priority: Some(self.spec.priority),
            device: self.spec.dev,
            device_gone: self.registration.device_gone(),
            ..Description::of(attachment_kind::NETFILTER)
        }
    }
}

impl Handler for Filter {
    /// Runs the hook's callback on a packet (from netfilter, in softirq or
    /// process context) and returns the verdict: the script's `DROP` or
    /// `ACCEPT`, and the hook's failure verdict for anything else: an
    /// error, the budget, the deadline or the memory cap running out, no
    /// verdict, a packet that could not be linearized, or a re-entry on
    /// the CPU that is running this replica already. Each failure counts
    /// as an error of the state. A replica busy on another CPU is waited
    /// for: its entry is bounded in time, and a filter must not be skipped
    /// because a sender spread its packets over CPUs.
    fn hook(&self, state: &dyn Owner, skb: &Packet) -> c_uint {
        let fail = self.fail;
        // Packets the hook does not want are not linearized.
        if self.mark.is_some_and(|m| m != skb.mark()) {
            return NF_ACCEPT;
        }
        let Some(info) = skb.prepare() else {
            state.refuse();
            return fail;
        };
        let new_mark = Cell::new(None);
        let skb_arg = SkbArg {
            net: info.net,
            mac: info.mac,
            len: i64::from(info.len),
            ifindex: i64::from(info.ifindex),
            mark: info.mark,
            new_mark: &new_mark,
            ops: Some(skb),
        };
        let arg = Arg::Lent(&skb_arg);
        let mut verdict = fail;
        let mut mark = None;
        let called = state.callback(self.id, &[arg], &mut |r| {
            verdict = match r.get(0) {
                Value::Int(v) if v == i64::from(NF_DROP) || v == i64::from(NF_ACCEPT) => {
                    v as c_uint
                }
                _ => {
                    return Err(
                        b"netfilter hook returned no verdict (action.DROP or action.ACCEPT)",
                    )
                }
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
}
