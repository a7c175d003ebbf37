// SPDX-License-Identifier: GPL-2.0

//! The life of one Lua state, the same in the kernel and on the host:
//! creating it with an accounted allocator, opening the sandboxed standard
//! libraries, running chunks in protected mode and reading their results.
//!
//! `core`-only. The longjmp rule: every Lua call that may raise either runs
//! inside `lua_pcall` or is itself a `lua_CFunction` that Lua calls in
//! protected mode; none of them holds a Rust value with a destructor.

use crate::account::{self, Account, RawAlloc};
use crate::ffi::*;
use crate::{byteorder, mathlib};
use core::ffi::{c_int, c_void, CStr};

/// Stack index of the message handler during [`run`].
const HANDLER: c_int = 1;
/// `lua_upvalueindex(1)`.
const UPVALUE1: c_int = LUA_REGISTRYINDEX - 1;

/// What [`open_libs`] needs inside its protected call.
struct OpenArgs<M: 'static> {
    seed: u64,
    print: lua_CFunction,
    extra: &'static M,
}

/// A library `require` finds by name: its name and its opener, which
/// returns the library's value.
pub type Library = (&'static CStr, lua_CFunction);

/// Where `require` looks for the libraries this file does not have: the
/// kernel's registry of libraries (rust/library.rs), or a plain list.
/// The VM receives it; it never names a library of its own beyond
/// [`BUILTIN`].
pub trait Modules: Sync + 'static {
    /// The opener of the library called `name`, if there is one.
    fn find(&self, name: &[u8]) -> Option<lua_CFunction>;
}

impl Modules for &'static [Library] {
    fn find(&self, name: &[u8]) -> Option<lua_CFunction> {
        self.iter()
            .find(|(n, _)| n.to_bytes() == name)
            .map(|(_, open)| *open)
    }
}

/// The libraries of the Lua core itself; every other library (`data`,
/// `rcu`, `linux`, ...) comes from the caller's [`Modules`].
const BUILTIN: &[Library] = &[(c"byteorder", byteorder::open)];

/// Registry key (its address) of the table of loaded libraries.
static LOADED: u8 = 0;

/// `require(name)`: the library `name`, opened on first use. Only the
/// built-in libraries exist (loading script files is not supported yet).
unsafe extern "C" fn require<M: Modules>(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; the checks, the table
    // accesses and the opener may raise; nothing here has a destructor.
    unsafe {
        let mut len = 0usize;
        let name = luaL_checklstring(L, 1, &mut len);
        lua_settop(L, 1);
        if lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const LOADED).cast()) != LUA_TTABLE {
            lua_pop(L, 1);
            lua_createtable(L, 0, 4);
            lua_pushvalue(L, -1);
            lua_rawsetp(L, LUA_REGISTRYINDEX, (&raw const LOADED).cast());
        }
        lua_pushvalue(L, 1);
        if lua_rawget(L, 2) != LUA_TNIL {
            return 1;
        }
        lua_pop(L, 1);
        // The libraries are Rust statics: `open_libs` passes the extra
        // ones as a light userdata pointing to a `&'static M`.
        let extra = &*lua_touserdata(L, lua_upvalueindex(1)).cast::<M>();
        let wanted = core::slice::from_raw_parts(name.cast::<u8>(), len);
        let Some(open) = BUILTIN.find(wanted).or_else(|| extra.find(wanted)) else {
            luaL_error(L, c"module '%s' not found".as_ptr(), name);
        };
        lua_pushcclosure(L, open, 0);
        lua_pushvalue(L, 1);
        lua_callk(L, 1, 1, 0, core::ptr::null());
        if lua_type(L, -1) == LUA_TNIL {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, 1);
        lua_pushvalue(L, -2);
        lua_rawset(L, 2);
    }
    1
}

/// `load` restricted to text chunks: precompiled bytecode is not verified
/// by Lua and could corrupt the kernel, so scripts may not load it.
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
        for (name, open) in libs {
            luaL_requiref(L, name.as_ptr(), open, 1);
            lua_pop(L, 1);
        }
        mathlib::open(L, args.seed);
        lua_createtable(L, 0, 1);
        lua_pushcclosure(L, debug_traceback, 0);
        lua_setfield(L, -2, c"traceback".as_ptr());
        lua_setglobal(L, c"debug".as_ptr());

        // Files are out of reach; `require` is the module's own.
        for name in [c"dofile", c"loadfile"] {
            lua_pushnil(L);
            lua_setglobal(L, name.as_ptr());
        }
        lua_getglobal(L, c"load".as_ptr());
        lua_pushcclosure(L, load_text, 1);
        lua_setglobal(L, c"load".as_ptr());
        lua_pushcclosure(L, args.print, 0);
        lua_setglobal(L, c"print".as_ptr());

        lua_pushlightuserdata(L, (args.extra as *const M).cast_mut().cast());
        lua_pushcclosure(L, require::<M>, 1);
        lua_setglobal(L, c"require".as_ptr());
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
/// `debug.traceback`, with `print` as given, and `require` for the
/// built-in libraries (`data`, `byteorder`) and `extra`.
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

/// Message handler: appends a traceback to the error message.
unsafe extern "C" fn traceback(L: *mut lua_State) -> c_int {
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
    // SAFETY: as above.
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
    // SAFETY: as above.
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
unsafe fn stopped(L: *mut lua_State, status: Result<(), c_int>) -> Result<(), c_int> {
    // SAFETY: as above.
    let killed = unsafe { account::end_entry(L) };
    match status {
        Ok(()) if killed != account::Kill::None => {
            // Clearing the stack and pushing nil never allocate, so
            // neither can raise outside a protected call.
            // SAFETY: as above.
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
/// As for [`run`].
unsafe fn run_entry(L: *mut lua_State, chunk: &[u8], name: &CStr) -> Result<(), c_int> {
    // SAFETY: as for `run`. lua_settop(0) and pushing a light C function
    // never raise; luaL_loadbufferx and lua_pcall catch every error.
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
    // SAFETY: as above: slots after the handler hold strings, which
    // lua_tolstring reads without allocating.
    let top = unsafe { lua_gettop(L) };
    // SAFETY: each index is a live slot holding a string (see above).
    (HANDLER + 1..=top).map(move |i| unsafe { string_at(L, i) })
}

/// The error message on top of the stack after a failed [`run`] or
/// [`open_libs`].
///
/// # Safety
///
/// `L` is the state whose call just failed, untouched since.
pub unsafe fn error_message<'a>(L: *mut lua_State) -> &'a [u8] {
    // SAFETY: as above.
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
unsafe fn string_at<'a>(L: *mut lua_State, idx: c_int) -> &'a [u8] {
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

/// An argument of [`call`].
#[derive(Clone, Copy)]
pub enum Arg<'a> {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (any bytes).
    Str(&'a [u8]),
    /// A value lent for the call only: a `data` view of memory
    /// (luadata/data.rs), a packet's `skb` (luanetfilter/skb.rs), ...
    Lent(&'a dyn Lend),
}

/// A value the kernel lends a Lua function for one [`call`]: pushed before
/// the call, kept reachable by the call (anchored in the registry) and
/// released after it, whatever happened, so that memory it shows is
/// never reachable from Lua once the call is over (a view a script kept
/// then reads as empty).
///
/// A value whose push or anchoring raised is never released: it is
/// garbage that no Lua code can reach (the contract below), so the memory
/// it shows stays out of reach without it.
///
/// # Safety
///
/// `push` leaves exactly one new value on the stack when it returns, made
/// of fresh objects without finalizers that nothing else references.
/// `release` calls no Lua function that may raise, and after it returns
/// the value gives Lua no access to memory the lender owns.
pub unsafe trait Lend {
    /// Pushes the value and returns what [`Lend::release`] needs.
    ///
    /// # Safety
    ///
    /// `L` is in a protected call (this may raise on memory errors); the
    /// memory the value shows outlives the call.
    unsafe fn push(&self, L: *mut lua_State) -> *mut c_void;

    /// Ends the loan: called once after the call, with what `push`
    /// returned, while the value is still anchored.
    ///
    /// # Safety
    ///
    /// `token` came from this value's `push` in the call just ended.
    unsafe fn release(&self, token: *mut c_void);
}

/// The function [`call`] calls.
#[derive(Debug, Clone, Copy)]
pub enum Callee<'a> {
    /// A global function.
    Global(&'a CStr),
    /// A function kept with [`store_callback`].
    Callback(i64),
}

/// Registry key (its address) of the table of callbacks.
static CALLBACKS: u8 = 0;

/// Keeps the function at `idx` among the state's callbacks, for the
/// kernel to call later, and returns its id: 1, 2, ... in the order of
/// the calls, so the replicas of a per-CPU state that run the same chunk
/// give the same function the same id.
///
/// # Safety
///
/// `L` is in a protected call (this raises on memory errors); `idx` is a
/// valid absolute index.
pub unsafe fn store_callback(L: *mut lua_State, idx: c_int) -> i64 {
    // SAFETY: as above.
    unsafe {
        if lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const CALLBACKS).cast()) != LUA_TTABLE {
            lua_pop(L, 1);
            lua_createtable(L, 4, 0);
            lua_pushvalue(L, -1);
            lua_rawsetp(L, LUA_REGISTRYINDEX, (&raw const CALLBACKS).cast());
        }
        // Forgotten callbacks stay as `false`, so the length keeps counting.
        let id = lua_rawlen(L, -1) as i64 + 1;
        lua_pushvalue(L, idx);
        lua_rawseti(L, -2, id);
        lua_pop(L, 1);
        id
    }
}

/// Forgets callback `id` (its function may be collected). Never raises:
/// it only reads the registry and replaces an existing entry, which does
/// not allocate, so it needs no protected call.
///
/// # Safety
///
/// `L` is a valid, idle state (or a running one, from a C function).
pub unsafe fn drop_callback(L: *mut lua_State, id: i64) {
    // SAFETY: as above.
    unsafe {
        if lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const CALLBACKS).cast()) == LUA_TTABLE
            && id >= 1
            && id <= lua_rawlen(L, -1) as i64
        {
            lua_pushboolean(L, 0);
            lua_rawseti(L, -2, id);
        }
        lua_pop(L, 1);
    }
}

/// Most lent values one call may pass.
const MAX_LENT: usize = 4;

/// Registry keys (their addresses) that keep each lent value of the
/// current call reachable until it is released, even if the script drops
/// it.
static ANCHORS: [u8; MAX_LENT] = [0; MAX_LENT];

/// A value [`call`] returned, borrowed from the Lua stack.
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

/// What [`call_protected`] needs inside its protected call, and what it
/// lent and anchored, for [`call`] to release.
struct CallArgs<'a> {
    func: Callee<'a>,
    args: &'a [Arg<'a>],
    /// The lent values pushed and anchored so far, with their tokens.
    lent: [(Option<&'a dyn Lend>, *mut c_void); MAX_LENT],
    /// How many entries of `lent` are in use.
    lent_len: usize,
    /// How many of `ANCHORS` hold a value.
    anchored: usize,
}

impl<'a> CallArgs<'a> {
    /// Pushes `value`, recorded for releasing, and anchors it.
    ///
    /// # Safety
    ///
    /// `L` is in a protected call (this raises when the slots run out or
    /// on a memory error).
    unsafe fn lend(&mut self, L: *mut lua_State, value: &'a dyn Lend) {
        if self.lent_len == MAX_LENT {
            // SAFETY: as above.
            unsafe { luaL_error(L, c"too many data views".as_ptr()) };
        }
        // SAFETY: as above; the lender's memory outlives the call (`Arg`
        // borrows it for the call's lifetime).
        let token = unsafe { value.push(L) };
        // SAFETY: as above; one anchor per lent value, so the slots
        // cannot run out here.
        unsafe {
            lua_pushvalue(L, -1);
            lua_rawsetp(
                L,
                LUA_REGISTRYINDEX,
                (&raw const ANCHORS[self.anchored]).cast(),
            );
        }
        self.anchored += 1;
        // Anchored: from here on the value is released after the call.
        self.lent[self.lent_len] = (Some(value), token);
        self.lent_len += 1;
    }
}

unsafe extern "C" fn call_protected(L: *mut lua_State) -> c_int {
    // SAFETY: `call` passes its CallArgs as light userdata 1, alive for this
    // call. Every function below may raise; `call`'s lua_pcall catches it
    // and nothing here has a destructor.
    unsafe {
        let call = &mut *lua_touserdata(L, 1).cast::<CallArgs<'_>>();
        match call.func {
            Callee::Global(name) => {
                if lua_getglobal(L, name.as_ptr()) != LUA_TFUNCTION {
                    luaL_error(L, c"no function '%s'".as_ptr(), name.as_ptr());
                }
            }
            Callee::Callback(id) => {
                let found = lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const CALLBACKS).cast())
                    == LUA_TTABLE
                    && lua_rawgeti(L, -1, id) == LUA_TFUNCTION;
                if !found {
                    luaL_error(L, c"no callback %d in this state".as_ptr(), id as c_int);
                }
                lua_rotate(L, -2, 1);
                lua_pop(L, 1);
            }
        }
        for arg in call.args {
            match *arg {
                Arg::Nil => lua_pushnil(L),
                Arg::Bool(b) => lua_pushboolean(L, c_int::from(b)),
                Arg::Int(i) => lua_pushinteger(L, i),
                Arg::Str(s) => {
                    lua_pushlstring(L, s.as_ptr().cast(), s.len());
                }
                Arg::Lent(value) => call.lend(L, value),
            }
        }
        let nargs = c_int::try_from(call.args.len()).unwrap_or(c_int::MAX);
        lua_callk(L, nargs, LUA_MULTRET, 0, core::ptr::null());
        lua_gettop(L) - 1
    }
}

/// Calls `func` (a global function or a stored callback) with `args`
/// under a fresh instruction budget. On success its results are the stack slots `2..=lua_gettop(L)`
/// (read them with [`value_at`]); on failure the error, with a traceback,
/// is on top (see [`error_message`]).
///
/// # Safety
///
/// As for [`run`].
pub unsafe fn call(L: *mut lua_State, func: Callee<'_>, args: &[Arg<'_>]) -> Result<(), c_int> {
    let mut call = CallArgs {
        func,
        args,
        lent: [(None, core::ptr::null_mut()); MAX_LENT],
        lent_len: 0,
        anchored: 0,
    };
    // SAFETY: as for `run`: nothing before lua_pcall can raise, and `call`
    // outlives the protected call that reads it.
    let status = unsafe {
        lua_settop(L, 0);
        account::begin_entry(L);
        lua_pushcclosure(L, traceback, 0);
        lua_pushcclosure(L, call_protected, 0);
        lua_pushlightuserdata(L, core::ptr::addr_of_mut!(call).cast::<c_void>());
        let status = lua_pcall(L, 1, LUA_MULTRET, HANDLER);
        stopped(
            L,
            if status == LUA_OK {
                Ok(())
            } else {
                Err(status)
            },
        )
    };
    // Whatever happened, the loans end with the call. Each value recorded
    // is still anchored in the registry; releasing calls nothing that
    // raises (`Lend`'s contract), and replacing an existing registry entry
    // with nil neither allocates nor raises.
    for (value, token) in &call.lent[..call.lent_len] {
        if let Some(value) = value {
            // SAFETY: `token` came from `value`'s push in this call.
            unsafe { value.release(*token) };
        }
    }
    for anchor in &ANCHORS[..call.anchored] {
        // SAFETY: as above.
        unsafe {
            lua_pushnil(L);
            lua_rawsetp(L, LUA_REGISTRYINDEX, (anchor as *const u8).cast());
        }
    }
    status
}

/// Number of results the last successful [`call`] or [`run`] left.
///
/// # Safety
///
/// `L` is the state that call just returned `Ok` for, untouched since.
pub unsafe fn result_count(L: *mut lua_State) -> usize {
    // SAFETY: as above.
    usize::try_from(unsafe { lua_gettop(L) } - HANDLER).unwrap_or(0)
}

/// Result `n` (from 0) of the last successful [`call`], or `Nil` past the
/// last one. Reading never converts, allocates or raises.
///
/// # Safety
///
/// `L` is the state [`call`] just returned `Ok` for, untouched since; the
/// value borrows from its stack.
pub unsafe fn value_at<'a>(L: *mut lua_State, n: usize) -> Value<'a> {
    // SAFETY: as above.
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
    // SAFETY: as above.
    unsafe {
        account::begin_entry(L);
        lua_close(L)
    };
}
