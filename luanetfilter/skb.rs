// SPDX-License-Identifier: GPL-2.0

//! The `skb` object a packet hook receives (docs/architecture.md,
//! "Libraries for scripts"): `#skb` (the packet's length),
//! `skb:data("net")` and `skb:data("mac")` (read-only `data` views from
//! the network or link-layer header to the end; `nil` for a header the
//! packet does not have), `skb:ifindex()` (the device's index) and
//! `skb:mark([v])` (the packet's mark, or set a new one, applied when the
//! hook returns).
//!
//! The object holds copies of the packet's fields, never a pointer to it:
//! its views are the only way to the packet's bytes, and they are detached
//! when the hook returns (the `skb` is a value lent for the call,
//! `vm::Lend`). An `skb` a script keeps thus shows old numbers and empty
//! views, never freed memory.
//!
//! `core`-only, tested on the host. Every function is a `lua_CFunction`
//! that may raise through its checks and holds no value with a destructor.

use crate::data::{self, DataArg, View};
use crate::ffi::*;
use crate::vm::Lend;
use core::cell::Cell;
use core::ffi::{c_int, c_void, CStr};

/// The metatable's name in the registry.
const MT: &CStr = c"skb";

/// Uservalue slots of an `skb` userdata.
const NET: c_int = 1;
const MAC: c_int = 2;

/// The fields of a packet an `skb` object shows.
#[repr(C)]
pub struct Skb {
    len: i64,
    ifindex: i64,
    mark: u32,
    new_mark: Option<u32>,
    /// The views in the uservalue slots, for detaching; null until set.
    views: [*mut View; 2],
}

/// The `skb` at argument 1.
///
/// # Safety
///
/// `L` is the calling thread, in a protected call (this raises when the
/// argument is not an `skb`).
unsafe fn check<'a>(L: *mut lua_State) -> &'a mut Skb {
    // SAFETY: only `push` makes userdata with this metatable, each holding
    // an initialised Skb.
    unsafe { &mut *luaL_checkudata(L, 1, MT.as_ptr()).cast::<Skb>() }
}

/// `skb:data(header)`: the view from `"net"` or `"mac"`.
unsafe extern "C" fn data(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; the checks may raise; nothing has a destructor.
    unsafe {
        check(L);
        let mut len = 0usize;
        let which = luaL_checklstring(L, 2, &mut len);
        let which = core::slice::from_raw_parts(which.cast::<u8>(), len);
        let slot = match which {
            b"net" => NET,
            b"mac" => MAC,
            _ => luaL_argerror(L, 2, c"header must be \"net\" or \"mac\"".as_ptr()),
        };
        lua_getiuservalue(L, 1, slot);
    }
    1
}

/// `skb:ifindex()`.
unsafe extern "C" fn ifindex(L: *mut lua_State) -> c_int {
    // SAFETY: as in `data`.
    unsafe {
        let skb = check(L);
        lua_pushinteger(L, skb.ifindex);
    }
    1
}

/// `skb:mark()` returns the mark (the new one if set); `skb:mark(v)` sets
/// a new mark, 0 to 2^32 - 1.
unsafe extern "C" fn mark(L: *mut lua_State) -> c_int {
    // SAFETY: as in `data`.
    unsafe {
        let skb = check(L);
        if lua_type(L, 2) <= LUA_TNIL {
            lua_pushinteger(L, i64::from(skb.new_mark.unwrap_or(skb.mark)));
            return 1;
        }
        let v = luaL_checkinteger(L, 2);
        let Ok(v) = u32::try_from(v) else {
            luaL_argerror(L, 2, c"mark out of range".as_ptr());
        };
        skb.new_mark = Some(v);
    }
    0
}

/// `#skb`: the packet's length.
unsafe extern "C" fn len(L: *mut lua_State) -> c_int {
    // SAFETY: as in `data`.
    unsafe {
        let skb = check(L);
        lua_pushinteger(L, skb.len);
    }
    1
}

/// Makes the `skb` metatable on first use (an idle state does without),
/// and sets it on the value on top of the stack.
///
/// # Safety
///
/// `L` is a valid state, inside a protected call (this raises on memory
/// errors), with an `skb` on top of the stack.
unsafe fn set_metatable(L: *mut lua_State) {
    let methods: [(&CStr, lua_CFunction); 3] =
        [(c"data", data), (c"ifindex", ifindex), (c"mark", mark)];
    // SAFETY: as above; luaL_newmetatable only looks up an existing one.
    unsafe {
        if luaL_newmetatable(L, MT.as_ptr()) == 0 {
            lua_setmetatable(L, -2);
            return;
        }
        lua_createtable(L, 0, methods.len() as c_int);
        for (name, f) in methods {
            lua_pushcclosure(L, f, 0);
            lua_setfield(L, -2, name.as_ptr());
        }
        lua_setfield(L, -2, c"__index".as_ptr());
        lua_pushcclosure(L, len, 0);
        lua_setfield(L, -2, c"__len".as_ptr());
        lua_pushstring(L, MT.as_ptr());
        lua_setfield(L, -2, c"__metatable".as_ptr());
        lua_setmetatable(L, -2);
    }
}

/// Pushes an `skb` with the packet's length, device index and mark, and
/// room for its two views, which the caller sets with `lua_setiuservalue`
/// (slot 1 the network header's, slot 2 the link layer's) and records in
/// `views`.
///
/// # Safety
///
/// `L` is in a protected call (this raises on memory errors).
unsafe fn push(L: *mut lua_State, len: i64, ifindex: i64, mark: u32) -> *mut Skb {
    // SAFETY: as above.
    unsafe {
        let skb = lua_newuserdatauv(L, core::mem::size_of::<Skb>(), 2).cast::<Skb>();
        skb.write(Skb {
            len,
            ifindex,
            mark,
            new_mark: None,
            views: [core::ptr::null_mut(); 2],
        });
        set_metatable(L);
        skb
    }
}

/// A packet given to a Lua function as an `skb` object for one call
/// (`vm::Arg::Lent`).
#[derive(Debug, Clone, Copy)]
pub struct SkbArg<'a> {
    /// From the network header to the end.
    pub net: DataArg<'a>,
    /// From the link-layer header to the end, if the packet has one.
    pub mac: Option<DataArg<'a>>,
    /// The packet's length.
    pub len: i64,
    /// The device's index.
    pub ifindex: i64,
    /// The packet's mark.
    pub mark: u32,
    /// Receives the mark the script set with `skb:mark(v)`, if any.
    pub new_mark: &'a Cell<Option<u32>>,
}

// SAFETY: `push` pushes one fresh `skb` (no finalizer) whose uservalues are
// fresh views; `release` detaches them without calling Lua.
unsafe impl Lend for SkbArg<'_> {
    unsafe fn push(&self, L: *mut lua_State) -> *mut c_void {
        // SAFETY: a protected call, and memory that outlives it (the
        // trait's contract); the views go into the `skb`'s slots.
        unsafe {
            let skb = push(L, self.len, self.ifindex, self.mark);
            (*skb).views[0] = self.net.push_view(L);
            lua_setiuservalue(L, -2, NET);
            if let Some(mac) = &self.mac {
                (*skb).views[1] = mac.push_view(L);
                lua_setiuservalue(L, -2, MAC);
            }
            skb.cast()
        }
    }

    unsafe fn release(&self, token: *mut c_void) {
        let skb = token.cast::<Skb>();
        // SAFETY: `token` is the `skb` `push` made, still anchored; its
        // views are reachable from it.
        unsafe {
            for view in (*skb).views {
                if !view.is_null() {
                    data::detach(view);
                }
            }
            self.new_mark.set((*skb).new_mark);
        }
    }
}
