// SPDX-License-Identifier: GPL-2.0

//! The sandbox of an interpreter: creating it with an accounted allocator
//! and opening the standard libraries scripts get (docs/architecture.md,
//! "Lua in the kernel"), with `require` (lua/interp/require.rs) over the
//! libraries the caller lists ([`Modules`]).
//!
//! `core`-only. The longjmp rule: every Lua call that may raise either runs
//! inside `lua_pcall` or is itself a `lua_CFunction` that Lua calls in
//! protected mode; none of them holds a Rust value with a destructor.

use super::require::Modules;
use crate::lua::account::{self, Account, RawAlloc};
use crate::lua::ffi::*;
use crate::lua::mathlib;
use core::ffi::{c_int, c_void, CStr};

/// `lua_upvalueindex(1)`.
const UPVALUE1: c_int = LUA_REGISTRYINDEX - 1;

/// What [`open_libs`] needs inside its protected call.
struct OpenArgs<M: 'static> {
    seed: u64,
    print: lua_CFunction,
    extra: &'static M,
}

/// `load` restricted to text chunks: precompiled bytecode is not verified
/// by Lua and could corrupt the kernel, so scripts may not load it.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn load_text(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua with the stock `load` as upvalue 1; the
    // pushes may raise memory errors, and nothing here has a destructor.
    unsafe {
        if lua_gettop(L) < 3 {
            lua_settop(L, 3);
        }
        lua_pushstring(L, c"t".as_ptr());
        lua_copy(L, -1, 3);
        lua_pop(L, 1);
        let nargs = lua_gettop(L);
        lua_pushvalue(L, UPVALUE1);
        lua_rotate(L, 1, 1);
        lua_callk(L, nargs, LUA_MULTRET, 0, core::ptr::null());
        lua_gettop(L)
    }
}

/// `debug.traceback([msg [, level]])`: the only `debug` function scripts
/// get (docs/architecture.md, "Lua in the kernel"). Like Lua's, a
/// non-string message is returned as it is, and the traceback starts at
/// `level` (1 by default).
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn debug_traceback(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; luaL_optinteger and
    // luaL_traceback may raise; nothing here has a destructor.
    unsafe {
        let t = lua_type(L, 1);
        if t != LUA_TSTRING && t != LUA_TNIL && t != LUA_TNONE && t != LUA_TNUMBER {
            lua_settop(L, 1);
            return 1;
        }
        let msg = lua_tolstring(L, 1, core::ptr::null_mut());
        // luaL_traceback counts levels up from `level` with a C int: past
        // the deepest possible stack there is nothing to show, and a level
        // near INT_MAX would overflow (the fuzzer found it under UBSan).
        let level = luaL_optinteger(L, 2, 1).clamp(0, 1 << 20) as c_int;
        luaL_traceback(L, L, msg, level);
    }
    1
}

/// The protected part of [`open_libs`]: opens the standard libraries and
/// the sandbox.
///
/// # Safety
///
/// Only [`open_libs`] calls this, through `lua_pcall`, with a light
/// userdata of its live `OpenArgs` as argument 1.
unsafe extern "C" fn open_protected<M: Modules>(L: *mut lua_State) -> c_int {
    // SAFETY: `open_libs` passes its OpenArgs as light userdata 1, alive
    // for this call. The library functions may raise memory errors, which
    // `open_libs`'s lua_pcall catches; nothing here has a destructor.
    unsafe {
        let args = &*lua_touserdata(L, 1).cast::<OpenArgs<M>>();
        let libs: [(&CStr, lua_CFunction); 5] = [
            (c"_G", luaopen_base),
            (c"coroutine", luaopen_coroutine),
            (c"table", luaopen_table),
            (c"string", luaopen_string),
            (c"utf8", luaopen_utf8),
        ];
        // Each opener's table becomes a global. Not through luaL_requiref:
        // it also records the table in a registry table of loaded
        // modules, which only Lua's own `require` reads; this module's
        // `require` keeps its own, made on first use, so an idle state
        // goes without.
        for (name, open) in libs {
            lua_pushcclosure(L, open, 0);
            lua_pushstring(L, name.as_ptr());
            lua_callk(L, 1, 1, 0, core::ptr::null());
            lua_setglobal(L, name.as_ptr());
        }
        mathlib::open(L, args.seed);
        lua_createtable(L, 0, 1);
        lua_pushcclosure(L, debug_traceback, 0);
        lua_setfield(L, -2, c"traceback".as_ptr());
        lua_setglobal(L, c"debug".as_ptr());

        // Files are out of reach (no dofile or loadfile: LUNATIK_NO_FILES
        // in lua/luaconf.h); `require` is the module's own.
        lua_getglobal(L, c"load".as_ptr());
        lua_pushcclosure(L, load_text, 1);
        lua_setglobal(L, c"load".as_ptr());
        lua_pushcclosure(L, args.print, 0);
        lua_setglobal(L, c"print".as_ptr());

        super::require::open::<M>(L, args.extra);
    }
    0
}

/// Creates a state whose memory is counted in `account`.
///
/// Returns null if even the initial allocation fails (e.g. a cap too small).
///
/// # Safety
///
/// `account` must stay valid, and not move, until the state is closed.
pub unsafe fn new_state<A: RawAlloc>(account: *mut Account, seed: u32) -> *mut lua_State {
    // SAFETY: the allocator's contract is met by the caller's `account`.
    unsafe { lua_newstate(account::alloc::<A>, account.cast(), seed) }
}

/// Opens the standard libraries of docs/architecture.md, "Lua in the
/// kernel": base (without `dofile`/`loadfile`, `load` for text only),
/// coroutine, table, string, utf8, the integer math and
/// `debug.traceback`, with `print` as given, `package`,
/// `_LUNATIK_VERSION` and `require` for those (by name), the built-in
/// library (`byteorder`), `extra`'s libraries and its script files
/// (lua/interp/require.rs).
///
/// # Safety
///
/// `L` is a valid, idle state.
pub unsafe fn open_libs<M: Modules>(
    L: *mut lua_State,
    seed: u64,
    print: lua_CFunction,
    extra: &'static M,
) -> Result<(), c_int> {
    let mut args = OpenArgs { seed, print, extra };
    // SAFETY: pushing a light C function and a light userdata never
    // allocates, so neither can raise; `args` outlives the call.
    let status = unsafe {
        account::begin_entry(L);
        lua_settop(L, 0);
        lua_pushcclosure(L, open_protected::<M>, 0);
        lua_pushlightuserdata(L, core::ptr::addr_of_mut!(args).cast::<c_void>());
        let status = lua_pcall(L, 1, 0, 0);
        account::end_entry(L);
        status
    };
    if status == LUA_OK {
        Ok(())
    } else {
        Err(status)
    }
}
