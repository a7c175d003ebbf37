// SPDX-License-Identifier: GPL-2.0

//! The `data` library: bounds-checked views of memory, for scripts that
//! read and write packet bytes (Lunatik's `data`; docs/architecture.md,
//! "Libraries for scripts").
//!
//! A view is a full userdata holding a [`View`]: a pointer, a length and a
//! read-only flag. `data.new(size)` makes one over zeroed bytes inside the
//! userdata itself. The kernel makes others over its own memory with
//! [`push_view`] for the length of one call and [`detach`]es them after,
//! so a view a script kept reads as empty, never as stale memory; a packet
//! path that calls often lends [`KeptArg`]s instead, a view per state
//! re-attached for each call and detached after it.
//!
//! Methods (`d:getbyte(off)` and so on, offsets from 0): `getbyte setbyte`,
//! `get`/`set` + `int8 uint8 int16 uint16 int32 uint32 int64` (host byte
//! order, as Lunatik; `byteorder` converts), `getnumber setnumber` (64-bit),
//! `getstring(off [, len])`, `setstring(off, s)`, `checksum([off, len])`
//! (the Internet checksum of RFC 1071), `#d`, `tostring(d)` (the bytes).
//! Every access is checked: past the end, or at a negative offset, it
//! raises "out of bounds"; a write to a read-only view raises "read only".
//!
//! `core`-only, tested on the host. Every function is a `lua_CFunction`
//! that may raise through `luaL_*` checks: none holds a value with a
//! destructor (docs/architecture.md, "The longjmp rule").

use crate::lua::ffi::*;
use crate::lua::vm::Lend;
use core::ffi::{c_int, CStr};

/// The metatable's name in the registry.
const MT: &CStr = c"data";

/// Largest size `data.new` accepts (the memory cap usually stops a script
/// long before).
const NEW_MAX: i64 = 1 << 30;

/// A view of memory.
///
/// # Invariants
///
/// `ptr` is valid for `len` bytes (reads, and writes unless `readonly`)
/// for as long as the view is attached; a detached view has a null `ptr`
/// and a `len` of 0.
#[repr(C)]
pub struct View {
    ptr: *mut u8,
    len: usize,
    readonly: bool,
}

/// The view at argument 1.
///
/// # Safety
///
/// `L` is the calling thread, in a protected call (this raises when the
/// argument is not a view).
unsafe fn check<'a>(L: *mut lua_State) -> &'a mut View {
    // SAFETY: a userdata whose metatable is the views' one was made by
    // `new` or `push_view`, both holding an initialised View. Every method
    // and metamethod holds that metatable as upvalue 1 (see
    // `set_metatable`), so the usual case is one comparison with it rather
    // than a lookup by name in the registry, as luaL_checkudata does (it
    // raises the error otherwise); comparing pushes one value and pops it,
    // and never raises.
    unsafe {
        let ud = lua_touserdata(L, 1);
        if !ud.is_null() && lua_getmetatable(L, 1) != 0 {
            let ours = lua_rawequal(L, -1, lua_upvalueindex(1)) != 0;
            lua_pop(L, 1);
            if ours {
                return &mut *ud.cast::<View>();
            }
        }
        &mut *luaL_checkudata(L, 1, MT.as_ptr()).cast::<View>()
    }
}

/// Checks that `width` bytes at the offset in argument `arg` lie inside
/// `view`, and returns the offset. Raises "out of bounds" otherwise.
///
/// # Safety
///
/// `L` is the calling thread, in a protected call (this raises on a bad
/// offset).
unsafe fn range(L: *mut lua_State, view: &View, arg: c_int, width: usize) -> usize {
    // SAFETY: `L` is the calling thread in a protected call (the
    // contract), so a non-integer raises into it; `view` is a plain
    // borrow with no destructor to skip.
    let off = unsafe { luaL_checkinteger(L, arg) };
    match usize::try_from(off)
        .ok()
        .and_then(|o| o.checked_add(width).map(|end| (o, end)))
    {
        Some((o, end)) if end <= view.len => o,
        // SAFETY: `L` is the calling thread in a protected call (the
        // contract), so the raise lands there; nothing here has a
        // destructor.
        _ => unsafe { luaL_argerror(L, arg, c"out of bounds".as_ptr()) },
    }
}

/// Raises "read only" if `view` may not be written.
///
/// # Safety
///
/// `L` is the calling thread, in a protected call (this raises on a
/// read-only view).
unsafe fn writable(L: *mut lua_State, view: &View) {
    if view.readonly {
        // SAFETY: `L` is the calling thread in a protected call (the
        // contract), so the raise lands there; nothing here has a
        // destructor.
        unsafe { luaL_error(L, c"read only".as_ptr()) }
    }
}

/// The `width` bytes at `off` (checked by [`range`]) as a slice to read.
///
/// # Safety
///
/// `off + width <= view.len` and the view is attached (its invariant);
/// nothing writes those bytes while the slice is used.
unsafe fn bytes<'a>(view: &View, off: usize, width: usize) -> &'a [u8] {
    if width == 0 {
        return &[];
    }
    // SAFETY: by the contract and the View invariant (readable bytes).
    unsafe { core::slice::from_raw_parts(view.ptr.add(off), width) }
}

/// The `width` bytes at `off` as a slice to write: only for a view that
/// is not read-only (checked by [`writable`]), since the memory behind a
/// read-only view (packet bytes) was given as `&[u8]`.
///
/// # Safety
///
/// `off + width <= view.len`, the view is attached (its invariant),
/// `view.readonly` is false, and nothing else reads or writes those bytes
/// while the slice is used.
unsafe fn bytes_mut<'a>(view: &View, off: usize, width: usize) -> &'a mut [u8] {
    if width == 0 {
        return &mut [];
    }
    // SAFETY: by the contract and the View invariant (writable bytes,
    // as the view is not read-only).
    unsafe { core::slice::from_raw_parts_mut(view.ptr.add(off), width) }
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
///
/// # Safety
///
/// `L` is the running thread of a C function Lua called in protected
/// mode (this raises if argument 1 is not a view).
unsafe fn get<const W: usize>(L: *mut lua_State, signed: bool) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (the
    // contract), so every check raises into it and skips no destructor
    // (`view` is a plain reference, `raw` plain bytes); `range` bounds
    // `off + W` by the view's length, and nothing writes the view while
    // `bytes` is copied (no Lua runs in between).
    unsafe {
        let view = check(L);
        let off = range(L, view, 2, W);
        let mut raw = [0u8; 8];
        raw[low::<W>()..low::<W>() + W].copy_from_slice(bytes(view, off, W));
        let u = u64::from_ne_bytes(raw);
        let v = if signed && W < 8 {
            // Sign-extend from the value's top bit.
            let shift = 64 - 8 * W as u32;
            ((u << shift) as i64) >> shift
        } else {
            u as i64
        };
        lua_pushinteger(L, v);
    }
    1
}

/// Writes the low `W` bytes of argument 3 at argument 2's offset.
///
/// # Safety
///
/// `L` is the running thread of a C function Lua called in protected
/// mode (this raises if argument 1 is not a view).
unsafe fn set<const W: usize>(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (the
    // contract), so every check raises into it and skips no destructor
    // (`view` is a plain reference, `raw` plain bytes); `range` bounds
    // `off + W` by the view's length and `writable` refuses a read-only
    // view before `bytes_mut`, which no other slice of the view aliases
    // while it is written.
    unsafe {
        let view = check(L);
        let off = range(L, view, 2, W);
        let v = luaL_checkinteger(L, 3) as u64;
        writable(L, view);
        let raw = v.to_ne_bytes();
        bytes_mut(view, off, W).copy_from_slice(&raw[low::<W>()..low::<W>() + W]);
    }
    0
}

macro_rules! accessors {
    ($(($get:ident, $set:ident, $w:literal, $signed:literal)),* $(,)?) => {
        $(
            /// A `get` method of a view.
            ///
            /// # Safety
            ///
            /// Lua calls this as a C function, in protected mode, with
            /// `L` its running thread.
            unsafe extern "C" fn $get(L: *mut lua_State) -> c_int {
                // SAFETY: `L` is the running thread of a protected call
                // (the contract), which is all `get` asks.
                unsafe { get::<$w>(L, $signed) }
            }
            /// A `set` method of a view.
            ///
            /// # Safety
            ///
            /// Lua calls this as a C function, in protected mode, with
            /// `L` its running thread.
            unsafe extern "C" fn $set(L: *mut lua_State) -> c_int {
                // SAFETY: `L` is the running thread of a protected call
                // (the contract), which is all `set` asks.
                unsafe { set::<$w>(L) }
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
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn getstring(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (Lua calls
    // this as a C function), so every check and the budget's charge raise
    // into it and skip no destructor; `range` bounds `off + len` by the
    // view's length (`view.len - off` is in bounds as `off <= len`); Lua
    // copies the bytes before any collection step could run Lua code that
    // writes them.
    unsafe {
        let view = check(L);
        let off = range(L, view, 2, 0);
        let len = if lua_type(L, 3) <= LUA_TNIL {
            view.len - off
        } else {
            let n = luaL_checkinteger(L, 3);
            let Ok(n) = usize::try_from(n) else {
                luaL_argerror(L, 3, c"out of bounds".as_ptr());
            };
            range(L, view, 2, n);
            n
        };
        // Copies are charged to the entry's budget, as Lua's own are.
        crate::lua::account::charge_bytes(L, len);
        let s = bytes(view, off, len);
        lua_pushlstring(L, s.as_ptr().cast(), s.len());
    }
    1
}

/// `d:setstring(off, s)`: copies all of `s` to `off`.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn setstring(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (Lua calls
    // this as a C function), so every check and the budget's charge raise
    // into it and skip no destructor; `range` bounds `off + len` by the
    // view's length and `writable` refuses a read-only view before
    // `bytes_mut`; `s` is argument 3, which stays on the stack while it
    // is copied, and a Lua string is never a view's memory, so the two
    // slices do not overlap.
    unsafe {
        let view = check(L);
        let mut len = 0usize;
        let s = luaL_checklstring(L, 3, &mut len);
        let off = range(L, view, 2, len);
        writable(L, view);
        crate::lua::account::charge_bytes(L, len);
        let out = bytes_mut(view, off, len);
        out.copy_from_slice(core::slice::from_raw_parts(s.cast::<u8>(), len));
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
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn checksum(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (Lua calls
    // this as a C function), so every check and the budget's charge raise
    // into it and skip no destructor; the range is the whole view or
    // bounded by `range`, and the sum reads it without calling Lua.
    unsafe {
        let view = check(L);
        let (off, len) = if lua_type(L, 2) <= LUA_TNIL {
            (0, view.len)
        } else {
            let n = luaL_checkinteger(L, 3);
            let Ok(n) = usize::try_from(n) else {
                luaL_argerror(L, 3, c"out of bounds".as_ptr());
            };
            (range(L, view, 2, n), n)
        };
        crate::lua::account::charge_bytes(L, len);
        lua_pushinteger(L, i64::from(internet_checksum(bytes(view, off, len))));
    }
    1
}

/// `#d`: the view's length (0 once detached).
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn len(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (Lua calls
    // this as a C function), so `check` raises into it on a non-view; the
    // push uses one slot of the LUA_MINSTACK room and never raises.
    unsafe {
        let view = check(L);
        lua_pushinteger(L, view.len as i64);
    }
    1
}

/// `tostring(d)`: the view's bytes as a string (never an address).
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn tostring(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (Lua calls
    // this as a C function), so `check` and the budget's charge raise
    // into it and skip no destructor; the whole view is in bounds by its
    // invariant, and Lua copies the bytes before any collection step
    // could run Lua code that writes them.
    unsafe {
        let view = check(L);
        crate::lua::account::charge_bytes(L, view.len);
        let s = bytes(view, 0, view.len);
        lua_pushlstring(L, s.as_ptr().cast(), s.len());
    }
    1
}

/// `data.new(size)`: a writable view of `size` zeroed bytes.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn new(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a protected call (Lua calls
    // this as a C function), so the check and a memory error raise into
    // it and skip no destructor; the block is `header + size` bytes, so
    // zeroing `size` bytes after the header stays inside it, and it is
    // aligned for a View (Lua aligns blocks to 8). The bytes follow the
    // View header in the same userdata, which Lua never moves, so the
    // pointer stays valid for the userdata's life.
    unsafe {
        let size = luaL_checkinteger(L, 1);
        if !(0..=NEW_MAX).contains(&size) {
            luaL_argerror(L, 1, c"invalid size".as_ptr());
        }
        let size = size as usize;
        let header = core::mem::size_of::<View>();
        let ud = lua_newuserdatauv(L, header + size, 0).cast::<u8>();
        let ptr = ud.add(header);
        core::ptr::write_bytes(ptr, 0, size);
        ud.cast::<View>().write(View {
            ptr,
            len: size,
            readonly: false,
        });
        set_metatable(L);
    }
    1
}

const METHODS: &[(&CStr, lua_CFunction)] = &[
    (c"getbyte", getbyte),
    (c"setbyte", setbyte),
    (c"getint8", getint8),
    (c"setint8", setint8),
    (c"getuint8", getuint8),
    (c"setuint8", setuint8),
    (c"getint16", getint16),
    (c"setint16", setint16),
    (c"getuint16", getuint16),
    (c"setuint16", setuint16),
    (c"getint32", getint32),
    (c"setint32", setint32),
    (c"getuint32", getuint32),
    (c"setuint32", setuint32),
    (c"getint64", getint64),
    (c"setint64", setint64),
    (c"getnumber", getnumber),
    (c"setnumber", setnumber),
    (c"getstring", getstring),
    (c"setstring", setstring),
    (c"checksum", checksum),
];

/// Makes the views' metatable on first use (an idle state does without),
/// and sets it on the value on top of the stack.
///
/// # Safety
///
/// `L` is a valid state, inside a protected call (this raises on memory
/// errors), with a view on top of the stack.
unsafe fn set_metatable(L: *mut lua_State) {
    // SAFETY: `L` is valid and in a protected call (the contract), so a
    // memory error raises into it and skips no destructor; the view stays
    // at -2 under the metatable while it is built (at most four values
    // pushed, within LUA_MINSTACK), and luaL_newmetatable only looks up
    // an existing one, which only this function fills.
    unsafe {
        if luaL_newmetatable(L, MT.as_ptr()) == 0 {
            lua_setmetatable(L, -2);
            return;
        }
        // Each function keeps the metatable as upvalue 1, for `check`.
        lua_createtable(L, 0, METHODS.len() as c_int);
        for (name, f) in METHODS {
            lua_pushvalue(L, -2);
            lua_pushcclosure(L, *f, 1);
            lua_setfield(L, -2, name.as_ptr());
        }
        lua_setfield(L, -2, c"__index".as_ptr());
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, len, 1);
        lua_setfield(L, -2, c"__len".as_ptr());
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, tostring, 1);
        lua_setfield(L, -2, c"__tostring".as_ptr());
        // getmetatable(d) returns this string, so scripts cannot reach or
        // change the methods of every view.
        lua_pushstring(L, MT.as_ptr());
        lua_setfield(L, -2, c"__metatable".as_ptr());
        lua_setmetatable(L, -2);
    }
}

/// `require "data"`: the library table, `{ new = data.new }`.
///
/// # Safety
///
/// Called by Lua (it raises on memory errors).
pub unsafe extern "C" fn open(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this as a C function, in protected mode, with `L` its running thread, so a memory error raises
    // into that call and skips no destructor; two values are pushed at
    // most, within LUA_MINSTACK.
    unsafe {
        lua_createtable(L, 0, 1);
        lua_pushcclosure(L, new, 0);
        lua_setfield(L, -2, c"new".as_ptr());
    }
    1
}

/// Pushes a view of `len` bytes at `ptr`, read-only unless `writable`, and
/// returns it for [`detach`].
///
/// # Safety
///
/// `L` is in a protected call (this raises on memory errors). `ptr` must be valid for `len` bytes (and for
/// writes if `writable`) until [`detach`] is called, and the caller must
/// keep the view reachable (anchored) until then, so it is not collected.
pub unsafe fn push_view(L: *mut lua_State, ptr: *mut u8, len: usize, writable: bool) -> *mut View {
    // SAFETY: `L` is in a protected call (the contract), so a memory error
    // raises into it and skips no destructor; the block is a View's size,
    // aligned for it (Lua aligns blocks to 8), and written before
    // `set_metatable` finds it on top; the View invariant holds because
    // the caller keeps `ptr` valid for `len` bytes until `detach`.
    unsafe {
        let view = lua_newuserdatauv(L, core::mem::size_of::<View>(), 0).cast::<View>();
        view.write(View {
            ptr,
            len,
            readonly: !writable,
        });
        set_metatable(L);
        view
    }
}

/// Attaches a view made by [`push_view`] to `len` bytes at `ptr`, read-only
/// unless `writable` (a null `ptr` leaves it detached).
///
/// # Safety
///
/// `view` came from [`push_view`] and its userdata is alive; `ptr` is
/// valid for `len` bytes (and for writes if `writable`) until [`detach`]
/// is called. Never calls Lua.
pub unsafe fn attach(view: *mut View, ptr: *mut u8, len: usize, writable: bool) {
    // SAFETY: by the contract.
    unsafe {
        (*view).ptr = ptr;
        (*view).len = if ptr.is_null() { 0 } else { len };
        (*view).readonly = !writable;
    }
}

/// Makes an attached view writable or read-only again, over the same
/// bytes.
///
/// # Safety
///
/// `view` came from [`push_view`] and its userdata is alive; if
/// `writable`, its bytes are valid for writes until [`detach`] is called.
/// Never calls Lua.
pub unsafe fn set_writable(view: *mut View, writable: bool) {
    // SAFETY: by the contract.
    unsafe { (*view).readonly = !writable }
}

/// Detaches a view: from now on it reads as empty.
///
/// # Safety
///
/// `view` came from [`push_view`] and its userdata is still alive.
pub unsafe fn detach(view: *mut View) {
    // SAFETY: by the contract; this never calls Lua.
    unsafe {
        (*view).ptr = core::ptr::null_mut();
        (*view).len = 0;
    }
}

/// Memory given to a Lua function as a `data` view for one call
/// (`vm::Arg::Lent`): attached while the function runs, detached when the
/// call returns (a view the script kept then reads as empty).
#[derive(Debug, Clone, Copy)]
pub struct DataArg<'a> {
    ptr: *mut u8,
    len: usize,
    writable: bool,
    _memory: core::marker::PhantomData<&'a mut [u8]>,
}

impl<'a> DataArg<'a> {
    /// A read-only view of `bytes`.
    pub fn read_only(bytes: &'a [u8]) -> Self {
        Self {
            ptr: bytes.as_ptr().cast_mut(),
            len: bytes.len(),
            writable: false,
            _memory: core::marker::PhantomData,
        }
    }

    /// A writable view of `bytes`.
    pub fn writable(bytes: &'a mut [u8]) -> Self {
        Self {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            writable: true,
            _memory: core::marker::PhantomData,
        }
    }

    /// Attaches `view` (made by [`push_view`]) to this memory.
    ///
    /// # Safety
    ///
    /// `view` came from [`push_view`] and its userdata is alive; the view is
    /// detached before `'a` ends (`self` borrows the memory for `'a` only).
    pub unsafe fn attach_view(&self, view: *mut View) {
        // SAFETY: by the contract.
        unsafe { attach(view, self.ptr, self.len, self.writable) }
    }

    /// Pushes a view of the memory (for an object that holds views, such
    /// as the `skb`, which then detaches it).
    ///
    /// # Safety
    ///
    /// `L` is in a protected call (this raises on memory errors); the view
    /// is kept reachable and detached before `'a` ends, since `self` borrows
    /// the memory for `'a` only.
    pub unsafe fn push_view(&self, L: *mut lua_State) -> *mut View {
        // SAFETY: by the contract; `self` borrows the memory for `'a`.
        unsafe { push_view(L, self.ptr, self.len, self.writable) }
    }

    /// The same memory, lent as the view the state keeps under registry
    /// key `key` (its address) instead of a fresh one per call.
    pub fn kept(self, key: &'static u8) -> KeptArg<'a> {
        KeptArg { memory: self, key }
    }
}

/// Memory lent through a view the state keeps in its registry under `key`
/// and re-attaches for every call (a packet path that calls often: the
/// XDP kfuncs), so a call allocates no view. The view is made detached on
/// the first call and detached again after each call: a script that keeps
/// it holds that one view, showing the current call's memory inside a
/// call and nothing outside one, never freed memory.
///
/// Each argument of a call needs its own key: two arguments lent through
/// one key would be one view showing the second's memory.
#[derive(Debug, Clone, Copy)]
pub struct KeptArg<'a> {
    memory: DataArg<'a>,
    key: &'static u8,
}

// SAFETY: `push` pushes the view kept under `key` (no finalizer, kept in
// the registry for every call), detached until `attach`; `attach` and
// `release` write the view's fields and never call Lua; after `release`
// the view shows no memory.
unsafe impl Lend for KeptArg<'_> {
    unsafe fn push(&self, L: *mut lua_State) -> *mut core::ffi::c_void {
        let key = (self.key as *const u8).cast();
        // SAFETY: `L` is in a protected call (the trait's contract); only
        // this function stores under a `KeptArg` key, always a view, which
        // the registry keeps alive for the state's life (scripts cannot
        // reach the registry).
        unsafe {
            if lua_rawgetp(L, LUA_REGISTRYINDEX, key) == LUA_TUSERDATA {
                return lua_touserdata(L, -1);
            }
            lua_pop(L, 1);
            let view = push_view(L, core::ptr::null_mut(), 0, false);
            lua_pushvalue(L, -1);
            lua_rawsetp(L, LUA_REGISTRYINDEX, key);
            view.cast()
        }
    }

    fn kept(&self) -> bool {
        true
    }

    unsafe fn push_kept(&self, L: *mut lua_State) -> Option<*mut core::ffi::c_void> {
        // SAFETY: a raw read of the registry never raises; what `push`
        // stored under the key is a view.
        unsafe {
            if lua_rawgetp(L, LUA_REGISTRYINDEX, (self.key as *const u8).cast()) == LUA_TUSERDATA {
                return Some(lua_touserdata(L, -1));
            }
            lua_pop(L, 1);
            None
        }
    }

    unsafe fn attach(&self, token: *mut core::ffi::c_void) {
        // SAFETY: `token` is the view `push` returned, kept in the
        // registry; the memory outlives the call (the trait's contract).
        unsafe { self.memory.attach_view(token.cast()) }
    }

    unsafe fn release(&self, token: *mut core::ffi::c_void) {
        // SAFETY: `token` is the view `push` returned, kept in the registry.
        unsafe { detach(token.cast()) }
    }
}

// SAFETY: `push` pushes one fresh view without a finalizer; `release`
// detaches it without calling Lua, after which it shows no memory.
unsafe impl Lend for DataArg<'_> {
    unsafe fn push(&self, L: *mut lua_State) -> *mut core::ffi::c_void {
        // SAFETY: by the trait's contract: a protected call, and memory
        // that outlives the call.
        unsafe { self.push_view(L) }.cast()
    }

    unsafe fn release(&self, token: *mut core::ffi::c_void) {
        // SAFETY: `token` is the view `push` made, still anchored.
        unsafe { detach(token.cast()) }
    }
}
