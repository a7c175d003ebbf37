// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks in Lua (docs/architecture.md, "Packet paths" and
//! "Libraries for scripts"): the `netfilter` and `linux.nf` libraries
//! (the constants of the latter come from the kernel's headers:
//! luanetfilter/constants.rs), and the kernel hooks behind them.
//!
//! `netfilter.register{hook = f, pf = ..., hooknum = ..., priority = ...,
//! mark = ..., dev = ...}` works in softirq states only (hooks run in
//! softirq context). It takes the `INET`, `IPV4`, `IPV6`, `ARP`, `BRIDGE`
//! and `NETDEV` families; the netdev hooks and inet's `INGRESS` are on the
//! device `dev` names, in the state's namespace (luanetfilter/device.rs).
//! Registering a netfilter hook sleeps, and a softirq state runs Lua
//! under a spinlock, so `register` only records the request and keeps
//! `f` as a callback of the state; the state registers the kernel hook
//! when the chunk that asked for it has finished, in process context
//! (a deferred operation: luanetfilter/hook.rs). `handle:unregister()`
//! works the same way. A hook lives until it is unregistered or its state
//! is destroyed (with its namespace, or on module unload); dropping the
//! handle does not unregister it.
//!
//! Written against the safe handle (lua/handle.rs): no `unsafe` here, and
//! every function holds no value with a destructor across a call that
//! may raise (the longjmp rule).
//!
//! `mark`, when given, restricts the hook to packets carrying that mark
//! (as in Lunatik, where it defaults to 0; here no `mark` means every
//! packet). The hook function gets an `skb` object (luanetfilter/skb.rs)
//! and returns `action.DROP` or `action.ACCEPT`, optionally followed by a new
//! mark. Anything else (an error, the budget, the deadline or the memory
//! cap running out, no verdict, another verdict such as `STOLEN`, which
//! would leak the packet, a packet that cannot be linearized) counts as an
//! error of the state and gets the hook's failure verdict: `DROP` by
//! default (fail-closed: a filter that an attacker can make fail must not
//! let the attack through), `ACCEPT` with `failopen = true` (for hooks
//! that only observe). docs/netfilter.md states the rule.

use crate::lua::ffi::{lua_CFunction, LUA_TTABLE};
use crate::lua::{Class, Lua};
use crate::lua_fn;
use crate::luanetfilter::hook::{HookOp, HookSpec};
use crate::luanetfilter::kernel::{IFNAMSIZ, NF_ACCEPT, NF_DROP};
use crate::states::library::Library;
use crate::states::replica::Context;
use core::ffi::{c_int, c_uint, CStr};
use core::marker::PhantomData;

/// Reads the integer field `name` of the options table (argument 1):
/// `None` if absent (raising if `required`), raising if not an integer.
fn field(lua: &mut Lua<'_>, name: &CStr, required: bool) -> Option<i64> {
    let t = lua.get_field(1, name);
    let v = if t == crate::lua::ffi::LUA_TNIL {
        if required {
            lua.error_with(c"netfilter.register: '%s' is required", name);
        }
        None
    } else if let Some(v) = lua.top_integer() {
        Some(v)
    } else {
        lua.error_with(c"netfilter.register: '%s' must be an integer", name)
    };
    lua.pop(1);
    v
}

/// Checks that `hooknum` is a hook of family `pf` that `register` takes
/// (docs/netfilter.md, "Hook points") and says whether it is bound to a
/// device.
fn hook_point(pf: i64, hooknum: i64) -> Result<bool, &'static CStr> {
    match pf {
        // NFPROTO_INET: the five IP hooks, or NF_INET_INGRESS on a device.
        1 => match hooknum {
            0..=4 => Ok(false),
            5 => Ok(true),
            _ => Err(c"netfilter.register: hooknum must be one of inet (0 to 5) for proto.INET"),
        },
        // NFPROTO_IPV4, NFPROTO_IPV6: the five IP hooks.
        2 | 10 => match hooknum {
            0..=4 => Ok(false),
            _ => Err(
                c"netfilter.register: hooknum must be one of inet (0 to 4) for proto.IPV4 and IPV6",
            ),
        },
        // NFPROTO_ARP: NF_ARP_IN, OUT, FORWARD.
        3 => match hooknum {
            0..=2 => Ok(false),
            _ => Err(c"netfilter.register: hooknum must be one of arp (0 to 2) for proto.ARP"),
        },
        // NFPROTO_NETDEV: NF_NETDEV_INGRESS, EGRESS, on a device.
        5 => match hooknum {
            0 | 1 => Ok(true),
            _ => {
                Err(c"netfilter.register: hooknum must be one of netdev (0 or 1) for proto.NETDEV")
            }
        },
        // NFPROTO_BRIDGE: NF_BR_PRE_ROUTING to POST_ROUTING. The kernel
        // keeps five bridge hooks per namespace: NF_BR_BROUTING (5) is
        // ebtables' own and nf_register_net_hook would warn on it.
        7 => match hooknum {
            0..=4 => Ok(false),
            _ => Err(c"netfilter.register: hooknum must be one of br (0 to 4) for proto.BRIDGE"),
        },
        _ => Err(c"netfilter.register: pf must be proto.INET, IPV4, IPV6, ARP, NETDEV or BRIDGE"),
    }
}

/// Reads the optional `dev` field of the options table (argument 1): the
/// name of a device of the state's namespace, NUL-terminated; raises if
/// it is not a string or cannot be a device name.
fn device(lua: &mut Lua<'_>) -> Option<[u8; IFNAMSIZ]> {
    let t = lua.get_field(1, c"dev");
    let dev = if t == crate::lua::ffi::LUA_TNIL {
        None
    } else if t != crate::lua::ffi::LUA_TSTRING {
        lua.error(c"netfilter.register: 'dev' must be a device name (a string)")
    } else {
        // A string (checked above), so this neither converts nor raises;
        // copied before the pop below.
        let top = lua.top();
        let name = lua.check_bytes(top);
        if name.is_empty() || name.len() >= IFNAMSIZ || name.contains(&0) {
            lua.error(c"netfilter.register: 'dev' is not a device name (1 to 15 bytes)");
        }
        let mut dev = [0u8; IFNAMSIZ];
        dev[..name.len()].copy_from_slice(name);
        Some(dev)
    };
    lua.pop(1);
    dev
}

/// Hook handles: the callback id of the hook they stand for. They own
/// nothing (a hook lives until it is unregistered or its state dies), so
/// they need no `__gc`.
static HANDLE: Class<i64> = Class {
    name: c"netfilter.hook",
    methods: &[(c"unregister", lua_fn!(unregister))],
    metamethods: &[],
    _values: PhantomData,
};

/// `netfilter.register(opts)`.
fn register(lua: &mut Lua<'_>) -> c_int {
    lua.check_type(1, crate::lua::ffi::LUA_TTABLE);
    let (_, context) = crate::states::replica::lua_context(lua);
    if context != Context::Softirq {
        lua.error(c"netfilter hooks need a softirq state (lunatik run SCRIPT softirq)");
    }
    let pf = field(lua, c"pf", true).unwrap_or(0);
    let hooknum = field(lua, c"hooknum", true).unwrap_or(-1);
    let dev = device(lua);
    let on_device = match hook_point(pf, hooknum) {
        Ok(on_device) => on_device,
        Err(message) => lua.error(message),
    };
    match (on_device, dev.is_some()) {
        (true, false) => {
            lua.error(c"netfilter.register: this hook is on a device: 'dev' is required")
        }
        (false, true) => {
            lua.error(c"netfilter.register: 'dev' is only for proto.NETDEV hooks and inet.INGRESS")
        }
        _ => {}
    }
    let priority = field(lua, c"priority", false).unwrap_or(0);
    let Ok(priority) = c_int::try_from(priority) else {
        lua.error(c"netfilter.register: priority out of range");
    };
    let mark = match field(lua, c"mark", false) {
        None => None,
        Some(m) => match u32::try_from(m) {
            Ok(m) => Some(m),
            Err(_) => lua.error(c"netfilter.register: mark out of range"),
        },
    };
    let fail = match lua.get_field(1, c"failopen") {
        crate::lua::ffi::LUA_TNIL => NF_DROP,
        crate::lua::ffi::LUA_TBOOLEAN if lua.top_bool() => NF_ACCEPT,
        crate::lua::ffi::LUA_TBOOLEAN => NF_DROP,
        _ => lua.error(c"netfilter.register: 'failopen' must be a boolean"),
    };
    lua.pop(1);
    if lua.get_field(1, c"hook") != crate::lua::ffi::LUA_TFUNCTION {
        lua.error(c"netfilter.register: 'hook' must be a function");
    }
    let top = lua.top();
    let id = lua.store_callback(top);
    let spec = HookSpec {
        id,
        pf: pf as u8,
        hooknum: hooknum as c_uint,
        priority,
        mark,
        fail,
        dev,
    };
    if let Err(e) = crate::states::replica::lua_defer(lua, HookOp::Register(spec)) {
        lua.error(e.message());
    }
    HANDLE.push(lua, id, 0);
    1
}

/// `handle:unregister()`.
fn unregister(lua: &mut Lua<'_>) -> c_int {
    let id = *HANDLE.check(lua, 1);
    if let Err(e) = crate::states::replica::lua_defer(lua, HookOp::Unregister(id)) {
        lua.error(e.message());
    }
    0
}

/// `require "netfilter"`.
fn open_netfilter(lua: &mut Lua<'_>) -> c_int {
    let functions: [(&CStr, lua_CFunction); 1] = [(c"register", lua_fn!(register))];
    lua.push_table(functions.len());
    lua.set_functions(&functions);
    1
}

/// `require "linux.nf"`: upstream Lunatik's tables (`proto`, `inet`,
/// `netdev`, `arp`, `ip.pri`, `br`, `br.pri`, `action`) with the values
/// of the kernel's headers (luanetfilter/constants.rs).
fn open_nf(lua: &mut Lua<'_>) -> c_int {
    lua.push_table(8);
    let nf = lua.top();
    for c in crate::luanetfilter::constants::all() {
        subtable(lua, c.table);
        if let Some(sub) = c.sub {
            subtable(lua, sub);
        }
        lua.push_integer(c.value);
        lua.set_field(c.name);
        let above = lua.top() - nf;
        lua.pop(above);
    }
    1
}

/// Pushes `t[key]` for the table `t` on top, made a new table if it was
/// not one.
fn subtable(lua: &mut Lua<'_>, key: &CStr) {
    let t = lua.top();
    if lua.get_field(t, key) != LUA_TTABLE {
        lua.pop(1);
        lua.push_table(8);
        lua.set_field(key);
        lua.get_field(t, key);
    }
}

/// The `netfilter` and `linux.nf` libraries.
pub(crate) static LIBRARY: Library = Library::new(
    "netfilter",
    &[
        (c"netfilter", lua_fn!(open_netfilter)),
        (c"linux.nf", lua_fn!(open_nf)),
    ],
);
