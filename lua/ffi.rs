// SPDX-License-Identifier: GPL-2.0

//! Declarations of the Lua 5.5 C API that lunatik-rs calls.
//!
//! This file is `core`-only: the kernel module and the host test crate both
//! include it, so both call Lua through the same signatures. They mirror
//! `lua.h`, `lauxlib.h` and `lualib.h` as configured by `lua/luaconf.h`
//! (`lua_Integer` and `lua_Number` are both `i64`).
//!
//! Many of these functions raise Lua errors, which are `longjmp`s: callers
//! must not hold values with destructors across them (see `lua/state.rs`).

#![allow(non_camel_case_types, dead_code)]

use core::ffi::{c_char, c_int, c_uint, c_void};

/// An opaque Lua thread.
#[repr(C)]
pub struct lua_State {
    _private: [u8; 0],
}

/// `lua_Integer`, 64-bit.
pub type lua_Integer = i64;
/// `lua_Number`: the same 64-bit integer in this configuration.
pub type lua_Number = i64;
/// A C function callable from Lua.
pub type lua_CFunction = unsafe extern "C" fn(L: *mut lua_State) -> c_int;
/// The allocator every state is created with.
pub type lua_Alloc = unsafe extern "C" fn(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void;
/// A debug hook.
pub type lua_Hook = unsafe extern "C" fn(L: *mut lua_State, ar: *mut lua_Debug);

/// Opaque activation record; hooks receive one and never look inside.
#[repr(C)]
pub struct lua_Debug {
    _private: [u8; 0],
}

pub const LUA_OK: c_int = 0;
pub const LUA_YIELD: c_int = 1;
pub const LUA_ERRRUN: c_int = 2;
pub const LUA_ERRSYNTAX: c_int = 3;
pub const LUA_ERRMEM: c_int = 4;
pub const LUA_ERRERR: c_int = 5;
pub const LUA_MULTRET: c_int = -1;
pub const LUA_REGISTRYINDEX: c_int = -(c_int::MAX / 2 + 1000);
pub const LUA_MASKCOUNT: c_int = 1 << 3;
pub const LUA_GCCOLLECT: c_int = 2;
pub const LUA_GCCOUNT: c_int = 3;
pub const LUA_GCCOUNTB: c_int = 4;
pub const LUA_TNONE: c_int = -1;
pub const LUA_TNIL: c_int = 0;
pub const LUA_TBOOLEAN: c_int = 1;
pub const LUA_TNUMBER: c_int = 3;
pub const LUA_TSTRING: c_int = 4;
pub const LUA_TLIGHTUSERDATA: c_int = 2;
pub const LUA_TTABLE: c_int = 5;
pub const LUA_TFUNCTION: c_int = 6;
pub const LUA_TUSERDATA: c_int = 7;
pub const LUA_TTHREAD: c_int = 8;
/// Bytes of raw memory before each `lua_State` (`LUA_EXTRASPACE`).
pub const LUA_EXTRASPACE: usize = core::mem::size_of::<*mut c_void>();

extern "C" {
    pub fn lua_newstate(f: lua_Alloc, ud: *mut c_void, seed: c_uint) -> *mut lua_State;
    pub fn lua_close(L: *mut lua_State);
    pub fn lua_gettop(L: *mut lua_State) -> c_int;
    pub fn lua_settop(L: *mut lua_State, idx: c_int);
    pub fn lua_pushvalue(L: *mut lua_State, idx: c_int);
    pub fn lua_rotate(L: *mut lua_State, idx: c_int, n: c_int);
    pub fn lua_type(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_typename(L: *mut lua_State, tp: c_int) -> *const c_char;
    pub fn lua_isinteger(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_tointegerx(L: *mut lua_State, idx: c_int, isnum: *mut c_int) -> lua_Integer;
    pub fn lua_toboolean(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_tolstring(L: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn lua_pushnil(L: *mut lua_State);
    pub fn lua_checkstack(L: *mut lua_State, n: c_int) -> c_int;
    pub fn lua_pushinteger(L: *mut lua_State, n: lua_Integer);
    pub fn lua_pushlstring(L: *mut lua_State, s: *const c_char, len: usize) -> *const c_char;
    pub fn lua_pushstring(L: *mut lua_State, s: *const c_char) -> *const c_char;
    pub fn lua_pushcclosure(L: *mut lua_State, f: lua_CFunction, n: c_int);
    pub fn lua_pushboolean(L: *mut lua_State, b: c_int);
    pub fn lua_pushlightuserdata(L: *mut lua_State, p: *mut c_void);
    pub fn lua_getglobal(L: *mut lua_State, name: *const c_char) -> c_int;
    pub fn lua_setglobal(L: *mut lua_State, name: *const c_char);
    pub fn lua_getfield(L: *mut lua_State, idx: c_int, k: *const c_char) -> c_int;
    pub fn lua_setfield(L: *mut lua_State, idx: c_int, k: *const c_char);
    pub fn lua_rawgetp(L: *mut lua_State, idx: c_int, p: *const c_void) -> c_int;
    pub fn lua_rawsetp(L: *mut lua_State, idx: c_int, p: *const c_void);
    pub fn lua_createtable(L: *mut lua_State, narr: c_int, nrec: c_int);
    pub fn lua_pcallk(
        L: *mut lua_State,
        nargs: c_int,
        nresults: c_int,
        errfunc: c_int,
        ctx: isize,
        k: *const c_void,
    ) -> c_int;
    pub fn lua_error(L: *mut lua_State) -> !;
    pub fn luaL_where(L: *mut lua_State, lvl: c_int);
    pub fn lua_gc(L: *mut lua_State, what: c_int, ...) -> c_int;
    pub fn lua_sethook(L: *mut lua_State, f: Option<lua_Hook>, mask: c_int, count: c_int);
    pub fn lua_gethookcount(L: *mut lua_State) -> c_int;
    pub fn lua_getallocf(L: *mut lua_State, ud: *mut *mut c_void) -> lua_Alloc;
    pub fn lua_newuserdatauv(L: *mut lua_State, sz: usize, nuvalue: c_int) -> *mut c_void;
    pub fn lua_concat(L: *mut lua_State, n: c_int);
    pub fn lua_copy(L: *mut lua_State, fromidx: c_int, toidx: c_int);
    pub fn lua_callk(
        L: *mut lua_State,
        nargs: c_int,
        nresults: c_int,
        ctx: isize,
        k: *const c_void,
    );
    pub fn lua_touserdata(L: *mut lua_State, idx: c_int) -> *mut c_void;
    pub fn lua_getmetatable(L: *mut lua_State, objindex: c_int) -> c_int;
    pub fn lua_rawequal(L: *mut lua_State, idx1: c_int, idx2: c_int) -> c_int;
    pub fn lua_next(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawlen(L: *mut lua_State, idx: c_int) -> u64;

    pub fn luaL_loadbufferx(
        L: *mut lua_State,
        buff: *const c_char,
        sz: usize,
        name: *const c_char,
        mode: *const c_char,
    ) -> c_int;
    pub fn luaL_traceback(L: *mut lua_State, L1: *mut lua_State, msg: *const c_char, level: c_int);
    pub fn luaL_tolstring(L: *mut lua_State, idx: c_int, len: *mut usize) -> *const c_char;
    pub fn luaL_checkstack(L: *mut lua_State, sz: c_int, msg: *const c_char);
    pub fn luaL_requiref(
        L: *mut lua_State,
        modname: *const c_char,
        openf: lua_CFunction,
        glb: c_int,
    );
    pub fn luaL_error(L: *mut lua_State, fmt: *const c_char, ...) -> !;
    pub fn luaL_checkinteger(L: *mut lua_State, arg: c_int) -> lua_Integer;
    pub fn luaL_optinteger(L: *mut lua_State, arg: c_int, def: lua_Integer) -> lua_Integer;
    pub fn luaL_checkany(L: *mut lua_State, arg: c_int);
    pub fn luaL_argerror(L: *mut lua_State, arg: c_int, extramsg: *const c_char) -> !;
    pub fn luaL_checklstring(L: *mut lua_State, arg: c_int, len: *mut usize) -> *const c_char;
    pub fn luaL_checktype(L: *mut lua_State, arg: c_int, t: c_int);
    pub fn luaL_newmetatable(L: *mut lua_State, tname: *const c_char) -> c_int;
    pub fn luaL_setmetatable(L: *mut lua_State, tname: *const c_char);
    pub fn luaL_testudata(L: *mut lua_State, ud: c_int, tname: *const c_char) -> *mut c_void;
    pub fn luaL_checkudata(L: *mut lua_State, ud: c_int, tname: *const c_char) -> *mut c_void;
    pub fn luaL_ref(L: *mut lua_State, t: c_int) -> c_int;
    pub fn lua_rawget(L: *mut lua_State, idx: c_int) -> c_int;
    pub fn lua_rawset(L: *mut lua_State, idx: c_int);
    pub fn lua_rawgeti(L: *mut lua_State, idx: c_int, n: lua_Integer) -> c_int;
    pub fn lua_rawseti(L: *mut lua_State, idx: c_int, n: lua_Integer);
    pub fn lua_setmetatable(L: *mut lua_State, objindex: c_int) -> c_int;
    pub fn lua_setiuservalue(L: *mut lua_State, idx: c_int, n: c_int) -> c_int;
    pub fn lua_getiuservalue(L: *mut lua_State, idx: c_int, n: c_int) -> c_int;
    pub fn lua_pushfstring(L: *mut lua_State, fmt: *const c_char, ...) -> *const c_char;

    pub fn luaopen_base(L: *mut lua_State) -> c_int;
    pub fn luaopen_coroutine(L: *mut lua_State) -> c_int;
    pub fn luaopen_table(L: *mut lua_State) -> c_int;
    pub fn luaopen_string(L: *mut lua_State) -> c_int;
    pub fn luaopen_utf8(L: *mut lua_State) -> c_int;
}

/// `lua_pcall`: `lua_pcallk` without a continuation.
///
/// # Safety
///
/// `L` must be a valid state with the function and `nargs` arguments on top.
pub unsafe fn lua_pcall(L: *mut lua_State, nargs: c_int, nresults: c_int, errfunc: c_int) -> c_int {
    // SAFETY: `L` is a valid state with the function and `nargs`
    // arguments on top (the contract), which is what `lua_pcallk` asks;
    // a null continuation with context 0 is what `lua_pcall` means.
    unsafe { lua_pcallk(L, nargs, nresults, errfunc, 0, core::ptr::null()) }
}

/// `lua_upvalueindex(i)`: the pseudo-index of a C closure's upvalue `i`.
pub const fn lua_upvalueindex(i: c_int) -> c_int {
    LUA_REGISTRYINDEX - i
}

/// `lua_pop`.
///
/// # Safety
///
/// `L` must be a valid state with at least `n` values on its stack.
pub unsafe fn lua_pop(L: *mut lua_State, n: c_int) {
    // SAFETY: `L` is a valid state with at least `n` values on its stack
    // (the contract), so setting the top to `-n - 1` removes only those.
    unsafe { lua_settop(L, -n - 1) }
}

/// `lua_getextraspace`: the pointer-sized area Lua keeps before each thread.
///
/// # Safety
///
/// `L` must be a valid state.
pub unsafe fn lua_getextraspace(L: *mut lua_State) -> *mut *mut c_void {
    // SAFETY: Lua allocates LUA_EXTRASPACE bytes right before every
    // lua_State, suitably aligned for a pointer.
    unsafe { L.cast::<u8>().sub(LUA_EXTRASPACE).cast() }
}
