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
//! Writing: `skb:data(header, true)` makes the packet's bytes private to
//! the hook and writable (the kernel's `skb_ensure_writable`, through
//! [`PacketOps`]) and returns that view writable; `skb:checksum()` fixes
//! the IPv4 header checksum and the UDP or TCP checksum after an edit.
//! Making the packet writable may move its bytes (a cloned packet gets
//! its own copy), so it re-attaches both of the state's views to the new
//! bytes: a view the script took before, being one of those two objects,
//! shows the new bytes too; none ever shows the old ones. A view made
//! writable stays so until the hook returns (`skb:data(header)` without
//! `true` returns it as it is); every packet starts read-only.
//!
//! The object holds copies of the packet's fields, never a pointer to it:
//! its views are the only way to the packet's bytes, and they are detached
//! when the hook returns (the `skb` is a value lent for the call,
//! `interp::Lend`). An `skb` a script keeps thus shows old numbers and empty
//! views, never freed memory.
//!
//! A state makes one `skb` and its two views once, on its first packet,
//! and keeps them in its registry: every later packet re-attaches the same
//! objects, so the packet path allocates nothing. A script that keeps the
//! object or a view between packets holds that same object: detached
//! (empty) outside a hook, showing the current packet inside one.
//!
//! `core`-only, tested on the host. Every function is a `lua_CFunction`
//! that may raise through its checks and holds no value with a destructor.

use crate::lua::ffi::*;
use crate::lua::interp::Lend;
use crate::lua::{Class, Lua};
use crate::lua_fn;
use crate::luadata::data::{self, DataArg, View};
use core::cell::Cell;
use core::ffi::{c_int, c_void, CStr};
use core::marker::PhantomData;

/// Uservalue slots of an `skb` userdata.
const NET: c_int = 1;
const MAC: c_int = 2;

/// Where a packet's bytes are, for the views: from the network header to
/// the end, and from the link-layer header to the end if it has one.
#[derive(Debug, Clone, Copy)]
pub struct Extents {
    /// The network header and the bytes to the end.
    pub net: (*mut u8, usize),
    /// The link-layer header and the bytes to the end, if any.
    pub mac: Option<(*mut u8, usize)>,
}

/// What a hook may do to its packet beyond reading it: the kernel side
/// (luanetfilter/write.rs) gives it for one call. Neither function calls
/// Lua.
pub trait PacketOps {
    /// Makes every byte of the packet private to the hook and writable,
    /// and tells where the bytes are now (they may have moved). The error
    /// is the message for the script.
    fn make_writable(&self) -> Result<Extents, &'static CStr>;

    /// Fixes the IPv4 header checksum and the UDP or TCP checksum of the
    /// writable packet: `Ok(true)` if a transport checksum was set,
    /// `Ok(false)` if there was none to set.
    fn checksum(&self) -> Result<bool, &'static CStr>;
}

/// A [`PacketOps`] with its lifetime erased, for the `skb` userdata,
/// which outlives every call.
type RawOps = *const (dyn PacketOps + 'static);

/// The fields of a packet an `skb` object shows.
///
/// Invariants: `views` are the views held in uservalue slots [`NET`] and
/// [`MAC`] of this same userdata, which only [`cached`] sets (no library
/// given to scripts can change a userdata's uservalues), so they live as
/// long as the `skb`. `ops`, when set, is the current call's
/// [`PacketOps`], set by `attach` and cleared by `release`.
#[repr(C)]
pub struct Skb {
    len: Cell<i64>,
    ifindex: Cell<i64>,
    mark: Cell<u32>,
    /// The mark the script set, applied when the hook returns.
    new_mark: Cell<Option<u32>>,
    /// Whether the current packet has a link-layer header.
    has_mac: Cell<bool>,
    /// The views in the uservalue slots.
    views: [Cell<*mut View>; 2],
    /// Which views the script made writable in this call.
    writable: [Cell<bool>; 2],
    /// Whether the packet was made writable in this call.
    private: Cell<bool>,
    /// What the hook may do to the packet, during a call.
    ops: Cell<Option<RawOps>>,
}

/// The `skb` class: methods `data`, `checksum`, `ifindex`, `mark`;
/// `#skb`. It owns nothing (its views are detached by the lender), so it
/// has no `__gc`.
static SKB: Class<Skb> = Class {
    name: c"skb",
    methods: &[
        (c"data", lua_fn!(data)),
        (c"checksum", lua_fn!(checksum)),
        (c"ifindex", lua_fn!(ifindex)),
        (c"mark", lua_fn!(mark)),
    ],
    metamethods: &[(c"__len", lua_fn!(len))],
    _values: PhantomData,
};

/// `skb:data([header [, writable]])`: the view from `"net"` (the
/// default, as upstream) or `"mac"`; with `writable` true, made writable
/// first (see the module's documentation). Raises when the packet cannot
/// be made writable.
fn data(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    let which: &[u8] = if lua.type_of(2) <= LUA_TNIL {
        b"net"
    } else {
        lua.check_bytes(2)
    };
    let want = lua.opt_bool(3);
    let slot = match which {
        b"net" => NET,
        b"mac" if skb.has_mac.get() => MAC,
        b"mac" => {
            lua.push_nil();
            return 1;
        }
        _ => lua.arg_error(2, c"header must be \"net\" or \"mac\""),
    };
    let i = (slot - 1) as usize;
    if want && !skb.writable[i].get() {
        let extents = make_private(lua, skb);
        skb.writable[i].set(true);
        reattach(skb, extents);
    }
    lua.push_uservalue(1, slot);
    1
}

/// `skb:checksum()`: fixes the IPv4 header checksum and the UDP or TCP
/// checksum (upstream Lunatik's name); makes the packet writable first if
/// the script has not. Returns whether a transport checksum was set.
fn checksum(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    if !skb.private.get() {
        let extents = make_private(lua, skb);
        reattach(skb, extents);
    }
    let Some(ops) = skb.ops.get() else {
        lua.error(c"skb: no packet (an skb is only valid inside its hook)");
    };
    // SAFETY: `ops` is the current call's (Skb invariant), alive until
    // `release`, which cannot run during this method.
    match unsafe { &*ops }.checksum() {
        Ok(set) => lua.push_bool(set),
        Err(msg) => lua.error(msg),
    }
    1
}

/// Makes the packet writable, once per call, and returns where its bytes
/// are now; raises outside a hook or when the kernel cannot (no memory).
fn make_private(lua: &mut Lua<'_>, skb: &Skb) -> Option<Extents> {
    if skb.private.get() {
        return None;
    }
    let Some(ops) = skb.ops.get() else {
        lua.error(c"skb: no packet (an skb is only valid inside its hook)");
    };
    // SAFETY: `ops` is the current call's (Skb invariant), alive until
    // `release`, which cannot run during this method.
    match unsafe { &*ops }.make_writable() {
        Ok(extents) => {
            skb.private.set(true);
            Some(extents)
        }
        Err(msg) => lua.error(msg),
    }
}

/// Attaches both views to `extents` (if the bytes were just made
/// private), each writable if the script asked for it; a view is
/// attached only while the call lasts, as the packet's bytes are.
fn reattach(skb: &Skb, extents: Option<Extents>) {
    let Some(e) = extents else {
        // Already private: only the flag of the view asked for changed.
        for (i, view) in skb.views.iter().enumerate() {
            // SAFETY: a view of this `skb` (Skb invariant), attached to
            // private, writable bytes since `make_private`.
            unsafe { data::set_writable(view.get(), skb.writable[i].get()) };
        }
        return;
    };
    // SAFETY: the views are this `skb`'s (Skb invariant); `make_writable`
    // gave bytes valid, and writable, until the hook returns, when
    // `release` detaches the views.
    unsafe {
        data::attach(skb.views[0].get(), e.net.0, e.net.1, skb.writable[0].get());
        match e.mac {
            Some((p, n)) => data::attach(skb.views[1].get(), p, n, skb.writable[1].get()),
            None => data::detach(skb.views[1].get()),
        }
    }
}

/// `skb:ifindex()`.
fn ifindex(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    lua.push_integer(skb.ifindex.get());
    1
}

/// `skb:mark()` returns the mark (the new one if set); `skb:mark(v)` sets
/// a new mark, 0 to 2^32 - 1.
fn mark(lua: &mut Lua<'_>) -> c_int {
    let skb = SKB.check(lua, 1);
    if lua.type_of(2) <= LUA_TNIL {
        lua.push_integer(i64::from(skb.new_mark.get().unwrap_or(skb.mark.get())));
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
    lua.push_integer(skb.len.get());
    1
}

/// A packet given to a Lua function as an `skb` object for one call
/// (`interp::Arg::Lent`).
#[derive(Clone, Copy)]
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
    /// What the script may do to the packet beyond reading it; `None`
    /// where it may not (then `skb:data(h, true)` and `skb:checksum()`
    /// raise).
    pub ops: Option<&'a dyn PacketOps>,
}

/// Registry key (its address) of the state's `skb` object.
static CACHED: u8 = 0;

/// Pushes the state's `skb` object, made on first use (detached, with two
/// detached views) and kept in the registry, so packets after the first
/// allocate nothing. One call lends at most one `skb` (`interp::call` lends
/// each argument once, and a hook has one), so the object never shows two
/// packets at once.
///
/// # Safety
///
/// `L` runs a C function in protected mode (this raises on memory errors).
unsafe fn cached(L: *mut lua_State) -> *mut Skb {
    // SAFETY: `L` is a live state (the function's contract), and a raw
    // registry read or pop never raises; only this function stores under
    // CACHED, always an `skb`, which the registry keeps alive for the
    // state's life.
    unsafe {
        if lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const CACHED).cast()) == LUA_TUSERDATA {
            return lua_touserdata(L, -1).cast::<Skb>();
        }
        lua_pop(L, 1);
        let mut lua = Lua::from_raw(L);
        let skb = SKB.push(
            &mut lua,
            Skb {
                len: Cell::new(0),
                ifindex: Cell::new(0),
                mark: Cell::new(0),
                new_mark: Cell::new(None),
                has_mac: Cell::new(false),
                views: [
                    Cell::new(core::ptr::null_mut()),
                    Cell::new(core::ptr::null_mut()),
                ],
                writable: [Cell::new(false), Cell::new(false)],
                private: Cell::new(false),
                ops: Cell::new(None),
            },
            2,
        );
        for (i, slot) in [NET, MAC].into_iter().enumerate() {
            skb.views[i].set(data::push_view(L, core::ptr::null_mut(), 0, false));
            lua_setiuservalue(L, -2, slot);
        }
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, (&raw const CACHED).cast());
        core::ptr::from_ref(skb).cast_mut()
    }
}

// SAFETY: `push` pushes the state's `skb` (no finalizer, kept in the
// registry), whose views show nothing until `attach`; `attach` and
// `release` write plain fields and never call Lua.
unsafe impl Lend for SkbArg<'_> {
    unsafe fn push(&self, L: *mut lua_State) -> *mut c_void {
        // SAFETY: `L` runs a C function in protected mode (the trait's
        // contract).
        unsafe { cached(L) }.cast()
    }

    fn kept(&self) -> bool {
        true
    }

    unsafe fn push_kept(&self, L: *mut lua_State) -> Option<*mut c_void> {
        // SAFETY: a raw read of the registry never raises; only `cached`
        // stores under CACHED, always an `skb`.
        unsafe {
            if lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const CACHED).cast()) == LUA_TUSERDATA {
                return Some(lua_touserdata(L, -1));
            }
            lua_pop(L, 1);
            None
        }
    }

    unsafe fn attach(&self, token: *mut c_void) {
        // SAFETY: `token` is the `skb` `push` returned, kept in the
        // registry; its views are alive (Skb invariant), and the memory
        // outlives the call (the trait's contract).
        unsafe {
            let skb = &*token.cast::<Skb>();
            skb.len.set(self.len);
            skb.ifindex.set(self.ifindex);
            skb.mark.set(self.mark);
            skb.new_mark.set(None);
            skb.has_mac.set(self.mac.is_some());
            skb.writable[0].set(false);
            skb.writable[1].set(false);
            skb.private.set(false);
            // The lifetime is erased: `release` clears the pointer before
            // the call ends, and nothing reads it outside the call.
            skb.ops.set(self.ops.map(|ops| {
                let ops: *const (dyn PacketOps + '_) = ops;
                core::mem::transmute::<*const (dyn PacketOps + '_), RawOps>(ops)
            }));
            self.net.attach_view(skb.views[0].get());
            match &self.mac {
                Some(mac) => mac.attach_view(skb.views[1].get()),
                None => data::detach(skb.views[1].get()),
            }
        }
    }

    unsafe fn release(&self, token: *mut c_void) {
        // SAFETY: `token` is the `skb` `push` made, kept in the registry; its
        // views are reachable from it.
        let skb = unsafe { &*token.cast::<Skb>() };
        skb.ops.set(None);
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
