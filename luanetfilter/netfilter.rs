// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks in Lua (docs/architecture.md, "Packet paths" and
//! "Libraries for scripts"): the `netfilter` and `linux.nf` libraries,
//! and the kernel hooks behind them.
//!
//! `netfilter.register{hook = f, pf = ..., hooknum = ..., priority = ...,
//! mark = ...}` works in softirq states only (hooks run in softirq
//! context). Registering a netfilter hook sleeps, and a softirq state runs
//! Lua under a spinlock, so `register` only records the request and keeps
//! `f` as a callback of the state; the state registers the kernel hook
//! when the chunk that asked for it has finished, in process context
//! (a deferred operation: luanetfilter/hook.rs). `handle:unregister()`
//! works the same way. A hook lives until it is unregistered or its state is destroyed
//! (with its namespace, or on module unload); dropping the handle does not
//! unregister it.
//!
//! `mark`, when given, restricts the hook to packets carrying that mark
//! (as in Lunatik, where it defaults to 0; here no `mark` means every
//! packet). The hook function gets an `skb` object (luanetfilter/skb.rs) and
//! returns `action.DROP` or `action.ACCEPT`, optionally followed by a new
//! mark. Anything else (an error, the budget, the deadline or the memory
//! cap running out, no verdict, another verdict such as `STOLEN`, which
//! would leak the packet, a packet that cannot be linearized) counts as an
//! error of the state and gets the hook's failure verdict: `DROP` by
//! default (fail-closed: a filter that an attacker can make fail must not
//! let the attack through), `ACCEPT` with `failopen = true` (for hooks
//! that only observe). docs/netfilter.md states the rule.

use crate::ffi::*;
use crate::library::Library;
use crate::nf_hook::{HookOp, HookSpec, NF_ACCEPT, NF_DROP};
use crate::vm;
use core::ffi::{c_int, c_uint, CStr};

/// Reads an integer field of the options table at index 1.
///
/// # Safety
///
/// `L` is in a protected call; this raises on a wrong type.
unsafe fn field(L: *mut lua_State, name: &CStr, required: bool) -> Option<i64> {
    // SAFETY: as above.
    unsafe {
        let t = lua_getfield(L, 1, name.as_ptr());
        let v = if t == LUA_TNIL {
            if required {
                luaL_error(
                    L,
                    c"netfilter.register: '%s' is required".as_ptr(),
                    name.as_ptr(),
                );
            }
            None
        } else if lua_isinteger(L, -1) != 0 {
            Some(lua_tointegerx(L, -1, core::ptr::null_mut()))
        } else {
            luaL_error(
                L,
                c"netfilter.register: '%s' must be an integer".as_ptr(),
                name.as_ptr(),
            )
        };
        lua_pop(L, 1);
        v
    }
}

/// The metatable of hook handles.
const HANDLE: &CStr = c"netfilter.hook";

/// `netfilter.register(opts)`.
unsafe extern "C" fn register(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; the checks raise before anything is recorded;
    // the recording is plain Rust that returns before Lua is called.
    unsafe {
        luaL_checktype(L, 1, LUA_TTABLE);
        let (_, context) = crate::machine::context(L);
        if context != crate::machine::Context::Softirq {
            luaL_error(
                L,
                c"netfilter hooks need a softirq state (lunatik run SCRIPT softirq)".as_ptr(),
            );
        }
        let pf = field(L, c"pf", true).unwrap_or(0);
        // NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6.
        if ![1, 2, 10].contains(&pf) {
            luaL_error(
                L,
                c"netfilter.register: pf must be proto.INET, IPV4 or IPV6".as_ptr(),
            );
        }
        let hooknum = field(L, c"hooknum", true).unwrap_or(-1);
        if !(0..=4).contains(&hooknum) {
            luaL_error(
                L,
                c"netfilter.register: hooknum must be one of inet (0 to 4)".as_ptr(),
            );
        }
        let priority = field(L, c"priority", false).unwrap_or(0);
        let Ok(priority) = c_int::try_from(priority) else {
            luaL_error(L, c"netfilter.register: priority out of range".as_ptr());
        };
        let mark = match field(L, c"mark", false) {
            None => None,
            Some(m) => match u32::try_from(m) {
                Ok(m) => Some(m),
                Err(_) => luaL_error(L, c"netfilter.register: mark out of range".as_ptr()),
            },
        };
        let fail = match lua_getfield(L, 1, c"failopen".as_ptr()) {
            LUA_TNIL => NF_DROP,
            LUA_TBOOLEAN if lua_toboolean(L, -1) != 0 => NF_ACCEPT,
            LUA_TBOOLEAN => NF_DROP,
            _ => luaL_error(L, c"netfilter.register: 'failopen' must be a boolean".as_ptr()),
        };
        lua_pop(L, 1);
        if lua_getfield(L, 1, c"hook".as_ptr()) != LUA_TFUNCTION {
            luaL_error(L, c"netfilter.register: 'hook' must be a function".as_ptr());
        }
        let id = vm::store_callback(L, lua_gettop(L));
        let spec = HookSpec {
            id,
            pf: pf as u8,
            hooknum: hooknum as c_uint,
            priority,
            mark,
            fail,
        };
        if crate::machine::defer(L, HookOp::Register(spec)).is_err() {
            luaL_error(L, c"not enough memory".as_ptr());
        }
        let handle = lua_newuserdatauv(L, core::mem::size_of::<i64>(), 0).cast::<i64>();
        handle.write(id);
        luaL_setmetatable(L, HANDLE.as_ptr());
    }
    1
}

/// `handle:unregister()`.
unsafe extern "C" fn unregister(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; as in `register`.
    unsafe {
        let id = *luaL_checkudata(L, 1, HANDLE.as_ptr()).cast::<i64>();
        if crate::machine::defer(L, HookOp::Unregister(id)).is_err() {
            luaL_error(L, c"not enough memory".as_ptr());
        }
    }
    0
}

/// `require "netfilter"`.
///
/// # Safety
///
/// Called by Lua in a kernel machine (it raises on memory errors).
unsafe extern "C" fn open_netfilter(L: *mut lua_State) -> c_int {
    // SAFETY: as above.
    unsafe {
        if luaL_newmetatable(L, HANDLE.as_ptr()) != 0 {
            lua_createtable(L, 0, 1);
            lua_pushcclosure(L, unregister, 0);
            lua_setfield(L, -2, c"unregister".as_ptr());
            lua_setfield(L, -2, c"__index".as_ptr());
        }
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushcclosure(L, register, 0);
        lua_setfield(L, -2, c"register".as_ptr());
    }
    1
}

/// Sets the integer fields `entries` in the table on top of the stack.
///
/// # Safety
///
/// `L` is in a protected call with a table on top.
unsafe fn constants(L: *mut lua_State, entries: &[(&CStr, i64)]) {
    // SAFETY: as above.
    unsafe {
        lua_createtable(L, 0, entries.len() as c_int);
        for (name, v) in entries {
            lua_pushinteger(L, *v);
            lua_setfield(L, -2, name.as_ptr());
        }
    }
}

/// `require "linux.nf"`: `proto`, `inet`, `ip.pri` and `action`, with the
/// kernel's values (include/uapi/linux/netfilter.h, netfilter_ipv4.h).
///
/// # Safety
///
/// Called by Lua (it raises on memory errors).
unsafe extern "C" fn open_nf(L: *mut lua_State) -> c_int {
    // SAFETY: as above.
    unsafe {
        lua_createtable(L, 0, 4);
        constants(
            L,
            &[
                (c"UNSPEC", 0),
                (c"INET", 1),
                (c"IPV4", 2),
                (c"ARP", 3),
                (c"NETDEV", 5),
                (c"BRIDGE", 7),
                (c"IPV6", 10),
            ],
        );
        lua_setfield(L, -2, c"proto".as_ptr());
        constants(
            L,
            &[
                (c"PRE_ROUTING", 0),
                (c"LOCAL_IN", 1),
                (c"FORWARD", 2),
                (c"LOCAL_OUT", 3),
                (c"POST_ROUTING", 4),
            ],
        );
        lua_setfield(L, -2, c"inet".as_ptr());
        lua_createtable(L, 0, 1);
        constants(
            L,
            &[
                (c"FIRST", i64::from(i32::MIN)),
                (c"RAW_BEFORE_DEFRAG", -450),
                (c"CONNTRACK_DEFRAG", -400),
                (c"RAW", -300),
                (c"SELINUX_FIRST", -225),
                (c"CONNTRACK", -200),
                (c"MANGLE", -150),
                (c"NAT_DST", -100),
                (c"FILTER", 0),
                (c"SECURITY", 50),
                (c"NAT_SRC", 100),
                (c"SELINUX_LAST", 225),
                (c"CONNTRACK_HELPER", 300),
                (c"LAST", i64::from(i32::MAX)),
            ],
        );
        lua_setfield(L, -2, c"pri".as_ptr());
        lua_setfield(L, -2, c"ip".as_ptr());
        constants(
            L,
            &[
                (c"DROP", 0),
                (c"ACCEPT", 1),
                (c"STOLEN", 2),
                (c"QUEUE", 3),
                (c"REPEAT", 4),
                (c"STOP", 5),
            ],
        );
        lua_setfield(L, -2, c"action".as_ptr());
    }
    1
}

/// The `netfilter` and `linux.nf` libraries.
pub(crate) static LIBRARY: Library = Library::new(
    "netfilter",
    &[(c"netfilter", open_netfilter), (c"linux.nf", open_nf)],
);
