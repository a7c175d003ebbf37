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
//! ([`crate::state::State::run`]). `handle:unregister()` works the same
//! way. A hook lives until it is unregistered or its state is destroyed
//! (with its namespace, or on module unload); dropping the handle does not
//! unregister it.
//!
//! `mark`, when given, restricts the hook to packets carrying that mark
//! (as in Lunatik, where it defaults to 0; here no `mark` means every
//! packet). The hook function gets an `skb` object (luadata/skb.rs) and
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
use crate::net::NetRef;
use crate::state::State;
use crate::vm;
use core::ffi::{c_int, c_uint, c_void, CStr};
use core::ptr::NonNull;
use kernel::alloc::flags::GFP_KERNEL;
use kernel::bindings;
use kernel::error::to_result;
use kernel::prelude::*;

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

/// A packet inside a hook.
pub(crate) struct Packet(NonNull<bindings::sk_buff>);

impl Packet {
    /// Linearizes the packet and reads what its `skb` object shows; `None`
    /// if linearizing found no memory.
    pub(crate) fn prepare(&self) -> Option<SkbInfo> {
        let mut info = SkbInfo {
            net: core::ptr::null_mut(),
            net_len: 0,
            mac: core::ptr::null_mut(),
            mac_len: 0,
            len: 0,
            ifindex: 0,
            mark: 0,
        };
        // SAFETY: the hook owns the packet for the duration of the call.
        (unsafe { lunatik_skb_prepare(self.0.as_ptr(), &mut info) } == 0).then_some(info)
    }

    /// The packet's mark, read without touching its data.
    pub(crate) fn mark(&self) -> u32 {
        // SAFETY: as in `prepare`.
        unsafe { lunatik_skb_mark(self.0.as_ptr()) }
    }

    /// Sets the packet's mark.
    pub(crate) fn set_mark(&self, mark: u32) {
        // SAFETY: as in `prepare`.
        unsafe { lunatik_skb_set_mark(self.0.as_ptr(), mark) }
    }
}

/// A hook a script asked for, by callback id.
#[derive(Clone, Copy)]
pub(crate) struct HookSpec {
    /// The state's callback (`vm::store_callback`) the hook calls.
    pub(crate) id: i64,
    pf: u8,
    hooknum: c_uint,
    priority: c_int,
    mark: Option<u32>,
    /// The verdict of a failed call (`failopen`).
    fail: c_uint,
}

/// A change to a state's hooks, waiting for the chunk to finish.
#[derive(Clone, Copy)]
pub(crate) enum HookOp {
    /// Register a hook.
    Register(HookSpec),
    /// Unregister the hook calling callback `id`.
    Unregister(i64),
}

/// What the kernel hook knows: the state to call into and how.
struct Target {
    state: *const State,
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
/// Invariant: while `registered`, `ops` is registered in `net` with
/// `target` as its private data; `target.state` outlives the hook (a state
/// drops its hooks before anything else).
pub(crate) struct Hook {
    ops: NonNull<c_void>,
    net: NetRef,
    target: KBox<Target>,
    registered: bool,
}

// SAFETY: the hook is shared with the kernel, which calls it on any CPU;
// `Target` is only read there, and the state it points to is Sync.
unsafe impl Send for Hook {}
// SAFETY: as above.
unsafe impl Sync for Hook {}

impl Hook {
    /// Registers `spec`'s hook in `net`, calling into `state`.
    ///
    /// # Safety
    ///
    /// `state` must outlive the returned hook.
    pub(crate) unsafe fn register(
        state: *const State,
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
        // SAFETY: `ops` is a fresh nf_hook_ops; `net` is live (NetRef).
        if let Err(e) = to_result(unsafe { lunatik_nf_hook_register(net.as_ptr(), ops.as_ptr()) }) {
            // SAFETY: never registered.
            unsafe { lunatik_nf_hook_free(ops.as_ptr()) };
            return Err(e);
        }
        Ok(Self {
            ops,
            net,
            target,
            registered: true,
        })
    }

    /// The callback id the hook calls.
    pub(crate) fn id(&self) -> i64 {
        self.target.id
    }

    /// Takes the hook out of netfilter. Packets already inside it may still
    /// be running until the next grace period.
    fn unregister(&mut self) {
        if core::mem::take(&mut self.registered) {
            // SAFETY: registered in `net` (type invariant), once.
            unsafe { lunatik_nf_hook_unregister(self.net.as_ptr(), self.ops.as_ptr()) };
        }
    }

    /// Drops `hooks` with a single grace period for all of them (a state
    /// going away may have many).
    pub(crate) fn drop_all(mut hooks: KVec<Hook>) {
        if hooks.is_empty() {
            return;
        }
        hooks.iter_mut().for_each(Hook::unregister);
        // SAFETY: process context (states are destroyed there); waits
        // for every RCU reader, hence every packet in these hooks.
        unsafe { bindings::synchronize_rcu() };
        drop(hooks);
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        if self.registered {
            self.unregister();
            // SAFETY: process context; see `drop_all`.
            unsafe { bindings::synchronize_rcu() };
        }
        // SAFETY: unregistered, and a grace period has passed since (here
        // or in `drop_all`), so no CPU is in the hook function; `target`
        // is freed right after.
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
    // SAFETY: a registered hook's target and state are live (Hook
    // invariant); netfilter gives a non-null skb.
    let (target, skb) = unsafe {
        (
            &*priv_.cast::<Target>(),
            Packet(NonNull::new_unchecked(skb)),
        )
    };
    // SAFETY: as above.
    unsafe { &*target.state }.packet(target.id, target.mark, target.fail, &skb)
}

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
        let (_, atomic) = crate::machine::context(L);
        if !atomic {
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
        if crate::machine::push_hook_op(L, HookOp::Register(spec)).is_err() {
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
        if crate::machine::push_hook_op(L, HookOp::Unregister(id)).is_err() {
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
