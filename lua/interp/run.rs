// SPDX-License-Identifier: GPL-2.0

//! Running code in an interpreter: chunks in protected mode with a fresh
//! budget, their results and errors, the values a call returned, the
//! kernel's `print` line, collections and the close.
//!
//! `core`-only. The longjmp rule: every Lua call that may raise either runs
//! inside `lua_pcall` or is itself a `lua_CFunction` that Lua calls in
//! protected mode; none of them holds a Rust value with a destructor.

use crate::lua::account;
use crate::lua::ffi::*;
use core::ffi::{c_int, CStr};

/// Stack index of the message handler during [`run`].
pub(crate) const HANDLER: c_int = 1;
/// Message handler: appends a traceback to the error message.
///
/// # Safety
///
/// Lua calls this as the message handler of a protected call, with `L`
/// a thread of an accounted state and the error object as argument 1.
pub(crate) unsafe extern "C" fn traceback(L: *mut lua_State) -> c_int {
    // A stopped entry's message says where it stopped. Its traceback would
    // be built with charged work, which a stopped entry may not do (the
    // charge would raise again, inside this handler).
    // SAFETY: `L` is a thread of an accounted state.
    if unsafe { account::account_of(L) }.killed != account::Kill::None {
        return 1;
    }
    // SAFETY: called by Lua with the error object as argument 1; may raise
    // memory errors (then Lua reports LUA_ERRERR); nothing has a destructor.
    unsafe {
        let msg = lua_tolstring(L, 1, core::ptr::null_mut());
        if msg.is_null() {
            luaL_tolstring(L, 1, core::ptr::null_mut());
            let msg = lua_tolstring(L, -1, core::ptr::null_mut());
            luaL_traceback(L, L, msg, 1);
        } else {
            luaL_traceback(L, L, msg, 1);
        }
    }
    1
}

/// The line `print` writes: its arguments converted as `tostring` does and
/// separated by tabs, left on top of the stack (and returned) until the
/// caller returns.
///
/// A C function is only guaranteed `LUA_MINSTACK` free slots, and a script
/// chooses how many arguments `print` gets (`print(s:byte(1, -1))`), so the
/// room for the pieces is reserved first; without it, Lua reports "stack
/// overflow" instead of writing past the stack.
///
/// # Safety
///
/// `L` is running `print` in protected mode: conversion (`__tostring`) and
/// memory errors may raise; the caller holds no value with a destructor.
pub unsafe fn print_line<'a>(L: *mut lua_State) -> &'a [u8] {
    // SAFETY: `L` runs `print` in protected mode (the contract), so a
    // `__tostring` or memory error is caught there and skips no destructor
    // (the caller holds none); luaL_checkstack reserves a slot for every
    // piece before it is pushed; the line stays on top until `print`
    // returns, which is as long as the slice is used.
    unsafe {
        let n = lua_gettop(L);
        // Each argument adds its string and a tab; one more slot for the
        // concatenation.
        luaL_checkstack(
            L,
            n.saturating_mul(2).saturating_add(1),
            c"too many arguments to print".as_ptr(),
        );
        for i in 1..=n {
            luaL_tolstring(L, i, core::ptr::null_mut());
            if i < n {
                lua_pushstring(L, c"\t".as_ptr());
            }
        }
        lua_concat(L, (2 * n - 1).max(0));
        string_at(L, -1)
    }
}

/// Converts every argument to its string form in place, as `tostring`.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a `__tostring` or memory error).
unsafe extern "C" fn stringify(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; `__tostring` metamethods and
    // memory errors may raise; nothing here has a destructor.
    unsafe {
        let n = lua_gettop(L);
        for i in 1..=n {
            luaL_tolstring(L, i, core::ptr::null_mut());
            lua_copy(L, -1, i);
            lua_pop(L, 1);
        }
        n
    }
}

/// Runs `chunk` (Lua source, never bytecode) named `name` in `L` with a
/// fresh instruction budget. On success the results, as strings, are the
/// stack slots `2..=lua_gettop(L)` (see [`results`]); on failure the error
/// message, with a traceback for runtime errors, is on top (see
/// [`error_message`]) and the status is returned.
///
/// # Safety
///
/// `L` is the main thread of a state made by [`new_state`], not running,
/// used by one caller at a time.
pub unsafe fn run(L: *mut lua_State, chunk: &[u8], name: &CStr) -> Result<(), c_int> {
    // SAFETY: `L` is the main thread of a state made by [`new_state`],
    // idle and used by this caller only (the contract), which is all
    // `run_entry` asks.
    let status = unsafe { run_entry(L, chunk, name) };
    // SAFETY: the entry is over.
    unsafe { stopped(L, status) }
}

/// Ends an entry: a stopped entry fails even if its code returned (a
/// script can catch the budget's error and return through a tail call,
/// which runs no instruction the count hook could stop). Its error message
/// is then the account's (see [`error_message`]).
///
/// # Safety
///
/// `L` is the main thread of an accounted state whose entry just ended.
pub(crate) unsafe fn stopped(L: *mut lua_State, status: Result<(), c_int>) -> Result<(), c_int> {
    // SAFETY: `L` is the main thread of an accounted state whose entry
    // just ended (the contract), so it is not running, as `end_entry`
    // asks.
    let killed = unsafe { account::end_entry(L) };
    match status {
        Ok(()) if killed != account::Kill::None => {
            // Clearing the stack and pushing nil never allocate, so
            // neither can raise outside a protected call.
            // SAFETY: `L` is a valid, idle main thread (the contract); the
            // emptied stack has room for the nil, and neither call raises
            // (see the line above).
            unsafe {
                lua_settop(L, 0);
                lua_pushnil(L);
            }
            Err(LUA_ERRRUN)
        }
        status => status,
    }
}

/// The body of [`run`], between the entry's start and end.
///
/// # Safety
///
/// `L` is the main thread of a state made by [`new_state`], not running,
/// used by one caller at a time.
unsafe fn run_entry(L: *mut lua_State, chunk: &[u8], name: &CStr) -> Result<(), c_int> {
    // SAFETY: `L` is an idle main thread of a state made by [`new_state`]
    // (the contract), so it is accounted, as `begin_entry` asks, and the
    // emptied stack has room for the handler and the chunk.
    // lua_settop(0) and pushing a light C function never raise;
    // luaL_loadbufferx and lua_pcall catch every error.
    unsafe {
        lua_settop(L, 0);
        account::begin_entry(L);
        lua_pushcclosure(L, traceback, 0);
        let status = luaL_loadbufferx(
            L,
            chunk.as_ptr().cast(),
            chunk.len(),
            name.as_ptr(),
            c"t".as_ptr(),
        );
        if status != LUA_OK {
            return Err(status);
        }
        let status = lua_pcall(L, 0, LUA_MULTRET, HANDLER);
        if status != LUA_OK {
            return Err(status);
        }
        // The chunk chose how many results it returned; Lua 5.5 limits the
        // result count a call may ask for (250), so the conversion asks for
        // all of them (LUA_MULTRET) rather than for `n`.
        let n = lua_gettop(L) - HANDLER;
        lua_pushcclosure(L, stringify, 0);
        lua_rotate(L, HANDLER + 1, 1);
        match lua_pcall(L, n, LUA_MULTRET, HANDLER) {
            LUA_OK => Ok(()),
            status => Err(status),
        }
    }
}

/// The results of the last successful [`run`], as byte strings.
///
/// # Safety
///
/// `L` is the state [`run`] just returned `Ok` for, untouched since.
pub unsafe fn results<'a>(L: *mut lua_State) -> impl Iterator<Item = &'a [u8]> {
    // SAFETY: `L` is a valid state (the contract); reading the top never
    // raises.
    let top = unsafe { lua_gettop(L) };
    // SAFETY: after a successful `run`, untouched since (the contract),
    // each index after the handler is a live slot holding a string
    // (`stringify` converted them), which `string_at` reads without
    // allocating; the strings stay while the stack does.
    (HANDLER + 1..=top).map(move |i| unsafe { string_at(L, i) })
}

/// The error message on top of the stack after a failed [`run`],
/// `call` or `open_libs`.
///
/// # Safety
///
/// `L` is the state whose call just failed, untouched since.
pub unsafe fn error_message<'a>(L: *mut lua_State) -> &'a [u8] {
    // SAFETY: `L` is the accounted state whose call just failed, untouched
    // since (the contract), so its top slot is live and stays while the
    // slice is used; reading types and a string value never allocates or
    // raises; the `Account` reference is only read, with the state idle.
    unsafe {
        if lua_type(L, -1) == LUA_TSTRING {
            string_at(L, -1)
        } else if account::account_of(L).killed != account::Kill::None {
            account::account_of(L).killed.message().to_bytes()
        } else {
            b"(error object is not a string)"
        }
    }
}

/// The bytes of the string at `idx`; empty if it is not a string.
///
/// # Safety
///
/// `L` is valid and the value at `idx` stays on the stack while the slice
/// is used (Lua strings do not move).
pub(crate) unsafe fn string_at<'a>(L: *mut lua_State, idx: c_int) -> &'a [u8] {
    // SAFETY: `L` is valid and `idx` a live slot.
    if unsafe { lua_type(L, idx) } != LUA_TSTRING {
        return b"";
    }
    let mut len = 0usize;
    // SAFETY: a string value converts without allocating or raising.
    let p = unsafe { lua_tolstring(L, idx, &mut len) };
    // SAFETY: Lua guarantees `len` readable bytes at `p`.
    unsafe { core::slice::from_raw_parts(p.cast(), len) }
}

/// A value `call` returned, borrowed from the Lua stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(&'a [u8]),
    /// Any other type, by name (`"table"`, `"function"`, ...).
    Other(&'static str),
}

/// Number of results the last successful `call` or [`run`] left.
///
/// # Safety
///
/// `L` is the state that call just returned `Ok` for, untouched since.
pub unsafe fn result_count(L: *mut lua_State) -> usize {
    // SAFETY: `L` is a valid state (the contract); reading the top never
    // raises.
    usize::try_from(unsafe { lua_gettop(L) } - HANDLER).unwrap_or(0)
}

/// Result `n` (from 0) of the last successful `call`, or `Nil` past the
/// last one. Reading never converts, allocates or raises.
///
/// # Safety
///
/// `L` is the state `call` just returned `Ok` for, untouched since; the
/// value borrows from its stack.
pub unsafe fn value_at<'a>(L: *mut lua_State, n: usize) -> Value<'a> {
    // SAFETY: `L` is the state `call` just returned `Ok` for (the
    // contract), which is what `result_count` asks.
    if n >= unsafe { result_count(L) } {
        return Value::Nil;
    }
    let idx = HANDLER + 1 + n as c_int;
    // SAFETY: `idx` is a live slot; these accessors only read it.
    unsafe {
        match lua_type(L, idx) {
            LUA_TNIL => Value::Nil,
            LUA_TBOOLEAN => Value::Bool(lua_toboolean(L, idx) != 0),
            LUA_TNUMBER => Value::Int(lua_tointegerx(L, idx, core::ptr::null_mut())),
            LUA_TSTRING => Value::Str(string_at(L, idx)),
            t => Value::Other(type_name(t)),
        }
    }
}

/// The name of a Lua type tag, without touching a state.
fn type_name(t: c_int) -> &'static str {
    match t {
        LUA_TNIL => "nil",
        LUA_TBOOLEAN => "boolean",
        LUA_TNUMBER => "number",
        LUA_TSTRING => "string",
        LUA_TFUNCTION => "function",
        LUA_TTABLE => "table",
        LUA_TLIGHTUSERDATA | LUA_TUSERDATA => "userdata",
        LUA_TTHREAD => "thread",
        _ => "no value",
    }
}

/// Runs a full garbage collection cycle.
///
/// # Safety
///
/// `L` is a valid, idle state.
pub unsafe fn collect(L: *mut lua_State) {
    // SAFETY: a full collection runs finalizers in protected mode, as an
    // entry of their own: under a fresh budget, deadline and stack floor
    // (finalizers are Lua code, and Lua keeps the count hook on for them:
    // see lua/lua-5.5.1-kernel.patch, lgc.c).
    unsafe {
        account::begin_entry(L);
        lua_gc(L, LUA_GCCOLLECT);
        account::end_entry(L);
    };
}

/// Closes the state, running the finalizers left as one last entry: under
/// a fresh budget, deadline and stack floor, so a finalizer that loops is
/// stopped and closing always ends.
///
/// # Safety
///
/// `L` is the main thread of an idle state made by [`new_state`], never
/// used again.
pub unsafe fn close(L: *mut lua_State) {
    // SAFETY: `L` is the idle main thread of a state made by [`new_state`]
    // (accounted, as `begin_entry` asks) and never used again (the
    // contract), so closing it frees nothing still in use; finalizers run
    // protected inside lua_close, under the fresh budget.
    unsafe {
        account::begin_entry(L);
        lua_close(L)
    };
}
