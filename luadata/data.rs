// SPDX-License-Identifier: GPL-2.0

//! The `data` library: bounds-checked views of memory, for scripts that
//! read and write packet bytes (Lunatik's `data`; docs/architecture.md,
//! "Libraries for scripts").
//!
//! A view is a userdata of the class `data` holding a [`View`]: a pointer,
//! a length and a read-only flag. `data.new(size)` makes one over zeroed
//! bytes inside the userdata itself. The kernel makes others over its own
//! memory with [`push_view`] for the length of one call and [`detach`]es
//! them after, so a view a script kept reads as empty, never as stale
//! memory; a packet path that calls often lends `KeptArg`s
//! (`DataArg::kept`) instead, a view per state re-attached for each call
//! and detached after it.
//!
//! Methods (`d:getbyte(off)` and so on, offsets from 0): `getbyte setbyte`,
//! `get`/`set` + `int8 uint8 int16 uint16 int32 uint32 int64` (host byte
//! order, as Lunatik; `byteorder` converts), `getnumber setnumber` (64-bit),
//! `getstring(off [, len])`, `setstring(off, s)`, `checksum([off, len])`
//! (the Internet checksum of RFC 1071), `#d`, `tostring(d)` (the bytes).
//! Every access is checked: past the end, or at a negative offset, it
//! raises "out of bounds"; a write to a read-only view raises "read only".
//!
//! Written against the safe handle (lua/handle.rs): no `unsafe` here. The
//! raw memory a view shows, and its lending to Lua functions, are in
//! luadata/data/view.rs. `core`-only, tested on the host. Every function
//! may raise through its checks and holds no value with a destructor
//! (docs/architecture.md, "The longjmp rule").

use crate::lua::ffi::{lua_CFunction, LUA_TNIL};
use crate::lua::{Class, Lua};
use crate::lua_fn;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;

/// The raw memory behind a view, and its lending.
mod view;

pub use view::{attach, detach, push_view, set_writable, DataArg, View};

/// Largest size `data.new` accepts (the memory cap usually stops a script
/// long before).
const NEW_MAX: i64 = 1 << 30;

/// The views' class: the methods below, `#d` and `tostring(d)`. A view
/// owns nothing (its lender detaches it), so it has no `__gc`.
static VIEWS: Class<View> = Class {
    name: c"data",
    methods: METHODS,
    metamethods: &[(c"__len", lua_fn!(len)), (c"__tostring", lua_fn!(tostring))],
    _values: PhantomData,
};

/// The view at argument 1; raises if it is none.
fn this<'a>(lua: &mut Lua<'a>) -> &'a View {
    VIEWS.check(lua, 1)
}

/// Checks that `width` bytes at the offset in argument `arg` lie inside
/// `view`, and returns the offset. Raises "out of bounds" otherwise.
fn range(lua: &mut Lua<'_>, view: &View, arg: c_int, width: usize) -> usize {
    let off = lua.check_integer(arg);
    match usize::try_from(off)
        .ok()
        .and_then(|o| o.checked_add(width).map(|end| (o, end)))
    {
        Some((o, end)) if end <= view.len() => o,
        _ => lua.arg_error(arg, c"out of bounds"),
    }
}

/// Raises "read only" if `view` may not be written.
fn writable(lua: &mut Lua<'_>, view: &View) {
    if view.readonly() {
        lua.error(c"read only");
    }
}

/// Where the low `W` bytes of a `u64` sit in its host-order bytes.
const fn low<const W: usize>() -> usize {
    if cfg!(target_endian = "little") {
        0
    } else {
        8 - W
    }
}

/// Reads a `W`-byte integer, as `signed` or not, at argument 2's offset.
fn get<const W: usize>(lua: &mut Lua<'_>, signed: bool) -> c_int {
    let view = this(lua);
    let off = range(lua, view, 2, W);
    let mut raw = [0u8; 8];
    if !view.read(off, &mut raw[low::<W>()..low::<W>() + W]) {
        lua.arg_error(2, c"out of bounds");
    }
    let u = u64::from_ne_bytes(raw);
    let v = if signed && W < 8 {
        // Sign-extend from the value's top bit.
        let shift = 64 - 8 * W as u32;
        ((u << shift) as i64) >> shift
    } else {
        u as i64
    };
    lua.push_integer(v);
    1
}

/// Writes the low `W` bytes of argument 3 at argument 2's offset.
fn set<const W: usize>(lua: &mut Lua<'_>) -> c_int {
    let view = this(lua);
    let off = range(lua, view, 2, W);
    let v = lua.check_integer(3) as u64;
    writable(lua, view);
    let raw = v.to_ne_bytes();
    if !view.write(off, &raw[low::<W>()..low::<W>() + W]) {
        lua.arg_error(2, c"out of bounds");
    }
    0
}

macro_rules! accessors {
    ($(($get:ident, $set:ident, $w:literal, $signed:literal)),* $(,)?) => {
        $(
            /// A `get` method of a view.
            fn $get(lua: &mut Lua<'_>) -> c_int {
                get::<$w>(lua, $signed)
            }
            /// A `set` method of a view.
            fn $set(lua: &mut Lua<'_>) -> c_int {
                set::<$w>(lua)
            }
        )*
    };
}

accessors!(
    (getbyte, setbyte, 1, false),
    (getint8, setint8, 1, true),
    (getuint8, setuint8, 1, false),
    (getint16, setint16, 2, true),
    (getuint16, setuint16, 2, false),
    (getint32, setint32, 4, true),
    (getuint32, setuint32, 4, false),
    (getint64, setint64, 8, true),
    (getnumber, setnumber, 8, true),
);

/// `d:getstring(off [, len])`: `len` bytes at `off`, or the rest.
fn getstring(lua: &mut Lua<'_>) -> c_int {
    let view = this(lua);
    let off = range(lua, view, 2, 0);
    let len = if lua.type_of(3) <= LUA_TNIL {
        view.len().saturating_sub(off)
    } else {
        let n = lua.check_integer(3);
        let Ok(n) = usize::try_from(n) else {
            lua.arg_error(3, c"out of bounds");
        };
        range(lua, view, 2, n);
        n
    };
    // Copies are charged to the entry's budget, as Lua's own are.
    lua.charge_bytes(len);
    if !view.push_bytes(lua, off, len) {
        lua.arg_error(2, c"out of bounds");
    }
    1
}

/// `d:setstring(off, s)`: copies all of `s` to `off`.
fn setstring(lua: &mut Lua<'_>) -> c_int {
    let view = this(lua);
    let s = lua.check_bytes(3);
    let off = range(lua, view, 2, s.len());
    writable(lua, view);
    lua.charge_bytes(s.len());
    if !view.write(off, s) {
        lua.arg_error(2, c"out of bounds");
    }
    0
}

/// The Internet checksum (RFC 1071) of `bytes`: the ones' complement of
/// the ones' complement sum of its big-endian 16-bit words (an odd last
/// byte padded with zero). Over a header holding a correct checksum, it
/// is 0.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// `d:checksum([off, len])`: the Internet checksum of the whole view, or
/// of `len` bytes at `off`.
fn checksum(lua: &mut Lua<'_>) -> c_int {
    let view = this(lua);
    let (off, len) = if lua.type_of(2) <= LUA_TNIL {
        (0, view.len())
    } else {
        let n = lua.check_integer(3);
        let Ok(n) = usize::try_from(n) else {
            lua.arg_error(3, c"out of bounds");
        };
        (range(lua, view, 2, n), n)
    };
    lua.charge_bytes(len);
    let Some(sum) = view.checksum(off, len) else {
        lua.arg_error(2, c"out of bounds");
    };
    lua.push_integer(i64::from(sum));
    1
}

/// `#d`: the view's length (0 once detached).
fn len(lua: &mut Lua<'_>) -> c_int {
    let view = this(lua);
    lua.push_integer(view.len() as i64);
    1
}

/// `tostring(d)`: the view's bytes as a string (never an address).
fn tostring(lua: &mut Lua<'_>) -> c_int {
    let view = this(lua);
    lua.charge_bytes(view.len());
    if !view.push_bytes(lua, 0, view.len()) {
        lua.arg_error(1, c"out of bounds");
    }
    1
}

/// `data.new(size)`: a writable view of `size` zeroed bytes.
fn new(lua: &mut Lua<'_>) -> c_int {
    let size = lua.check_integer(1);
    if !(0..=NEW_MAX).contains(&size) {
        lua.arg_error(1, c"invalid size");
    }
    view::push_new(lua, size as usize);
    1
}

const METHODS: &[(&CStr, lua_CFunction)] = &[
    (c"getbyte", lua_fn!(getbyte)),
    (c"setbyte", lua_fn!(setbyte)),
    (c"getint8", lua_fn!(getint8)),
    (c"setint8", lua_fn!(setint8)),
    (c"getuint8", lua_fn!(getuint8)),
    (c"setuint8", lua_fn!(setuint8)),
    (c"getint16", lua_fn!(getint16)),
    (c"setint16", lua_fn!(setint16)),
    (c"getuint16", lua_fn!(getuint16)),
    (c"setuint16", lua_fn!(setuint16)),
    (c"getint32", lua_fn!(getint32)),
    (c"setint32", lua_fn!(setint32)),
    (c"getuint32", lua_fn!(getuint32)),
    (c"setuint32", lua_fn!(setuint32)),
    (c"getint64", lua_fn!(getint64)),
    (c"setint64", lua_fn!(setint64)),
    (c"getnumber", lua_fn!(getnumber)),
    (c"setnumber", lua_fn!(setnumber)),
    (c"getstring", lua_fn!(getstring)),
    (c"setstring", lua_fn!(setstring)),
    (c"checksum", lua_fn!(checksum)),
];

/// `require "data"`: the library table, `{ new = data.new }`.
fn open_data(lua: &mut Lua<'_>) -> c_int {
    lua.push_table(1);
    lua.set_functions(&[(c"new", lua_fn!(new))]);
    1
}

/// The opener of `require "data"`, for the library registry (and the
/// host's list of libraries).
pub const OPEN: lua_CFunction = lua_fn!(open_data);
