// SPDX-License-Identifier: GPL-2.0

//! The `skb` object a packet hook receives (docs/architecture.md,
//! "Libraries for scripts"): `#skb` (the packet's length),
//! `skb:data("net")` (also `skb:data()`) and `skb:data("mac")`
//! (read-only `data` views from the network or link-layer header to the
//! end; `nil` for a header the
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
use crate::lua::{Class, Lua};
use crate::lua_fn;
use crate::vm::Lend;
use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::marker::PhantomData;

/// Uservalue slots of an `skb` userdata.
const NET: c_int = 1;
const MAC: c_int = 2;

/// The fields of a packet an `skb` object shows.
#[repr(C)]
pub struct Skb {
    len: i64,
    ifindex: i64,
    mark: u32,
    /// The mark the script set, applied when the hook returns.
    new_mark: Cell<Option<u32>>,
    /// The views in the uservalue slots, for detaching; null until set.
    views: [Cell<*mut View>; 2],
}

/// The `skb` class: methods `data`, `ifindex`, `mark`; `#skb`. It owns
/// nothing (its views are detached by the lender), so it has no `__gc`.
static SKB: Class<Skb> = Class {
    name: c"skb",
    methods: &[
        (c"data", lua_fn!(data)),
        (c"ifindex", lua_fn!(ifindex)),
        (c"mark", lua_fn!(mark)),
    ],
    metamethods: &[(c"__len", lua_fn!(len))],
    _values: PhantomData,
};

/// `skb:data([header])`: the view from `"net"` (the default, as
/// upstream) or `"mac"`.
fn data(lua: &mut Lua<'_>) -> c_int {
    SKB.check(lua, 1);
    let which: &[u8] = if lua.type_of(2) <= LUA_TNIL {
        b"net"
    } else {
        lua.check_bytes(2)
    };
    let slot = match which {
        b"net" => NET,
        b"mac" => MAC,
        _ => lua.arg_error(2, c"header must be \"net\" or \"mac\""),
    };
    lua.push_uservalue(1, slot);
    1
}

/// `skb:ifindex()`.
fn ifindex(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    lua.push_integer(skb.ifindex);
    1
}

/// `skb:mark()` returns the mark (the new one if set); `skb:mark(v)` sets
/// a new mark, 0 to 2^32 - 1.
fn mark(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    if lua.type_of(2) <= LUA_TNIL {
        lua.push_integer(i64::from(skb.new_mark.get().unwrap_or(skb.mark)));
        return 1;
    }
    let v = lua.check_integer(2);
    let Ok(v) = u32::try_from(v) else {
        lua.arg_error(2, c"mark out of range");
    };
    skb.new_mark.set(Some(v));
    0
}

/// `#skb`: the packet's length.
fn len(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    lua.push_integer(skb.len);
    1
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
        // SAFETY: `L` runs a C function in protected mode (the trait's
        // contract); the handle never pops what is on the stack already.
        let mut lua = unsafe { Lua::from_raw(L) };
        let skb = SKB.push(
            &mut lua,
            Skb {
                len: self.len,
                ifindex: self.ifindex,
                mark: self.mark,
                new_mark: Cell::new(None),
                views: [
                    Cell::new(core::ptr::null_mut()),
                    Cell::new(core::ptr::null_mut()),
                ],
            },
            2,
        );
        // SAFETY: a protected call, and memory that outlives it (the
        // trait's contract); each view goes into its slot of the `skb` on
        // the stack below it.
        unsafe {
            skb.views[0].set(self.net.push_view(L));
            lua_setiuservalue(L, -2, NET);
            if let Some(mac) = &self.mac {
                skb.views[1].set(mac.push_view(L));
                lua_setiuservalue(L, -2, MAC);
            }
        }
        core::ptr::from_ref(skb).cast_mut().cast()
    }

    unsafe fn release(&self, token: *mut c_void) {
        // SAFETY: `token` is the `skb` `push` made, still anchored; its
        // views are reachable from it.
        let skb = unsafe { &*token.cast::<Skb>() };
        for view in &skb.views {
            let view = view.get();
            if !view.is_null() {
                // SAFETY: a view `push` made, reachable from the `skb`.
                unsafe { data::detach(view) };
            }
        }
        self.new_mark.set(skb.new_mark.get());
    }
}
