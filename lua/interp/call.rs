// SPDX-License-Identifier: GPL-2.0

//! Calling a Lua function from the kernel: a global or a stored
//! callback, with arguments, values lent for the call ([`Lend`]), and a
//! fresh budget; the callbacks a state keeps for the kernel.
//!
//! `core`-only. The longjmp rule: every Lua call that may raise either runs
//! inside `lua_pcall` or is itself a `lua_CFunction` that Lua calls in
//! protected mode; none of them holds a Rust value with a destructor.

use super::run::{stopped, traceback, HANDLER};
use crate::lua::account;
use crate::lua::ffi::*;
use core::ffi::{c_int, c_void, CStr};

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
/// the call, kept reachable by the call (anchored in the registry, or
/// kept there by its lender) and released after it, whatever happened,
/// so that memory it shows is never reachable from Lua once the call is
/// over (a view a script kept then reads as empty).
///
/// A value whose push or anchoring raised is never attached nor released:
/// it is garbage that no Lua code can reach, or an object the lender keeps
/// that shows nothing (the contract below), so the memory stays out of
/// reach without it.
///
/// # Safety
///
/// `push` leaves exactly one new value on the stack when it returns, made
/// of fresh objects without finalizers that nothing else references, or
/// of objects without finalizers the lender keeps in the registry for
/// every call (a packet's `skb`), which show no memory until `attach`.
/// `attach` and `release` call no Lua function that may raise, and after
/// `release` returns the value gives Lua no access to memory the lender
/// owns. A value whose `kept` returns true is one the lender keeps in the
/// registry for every call, where no script can reach to remove it.
pub unsafe trait Lend {
    /// Pushes the value and returns what [`Lend::release`] needs.
    ///
    /// # Safety
    ///
    /// `L` is in a protected call (this may raise on memory errors); the
    /// memory the value shows outlives the call.
    unsafe fn push(&self, L: *mut lua_State) -> *mut c_void;

    /// Points the value at the lender's memory: called once after `push`
    /// (or `push_kept`), when the value is reachable and will be released
    /// whatever happens. A value that shows its memory from `push` on has
    /// nothing to do.
    ///
    /// # Safety
    ///
    /// `token` came from this value's `push` or `push_kept` in the current
    /// call.
    unsafe fn attach(&self, token: *mut c_void) {
        let _ = token;
    }

    /// Whether `push` pushes an object the lender keeps in the registry
    /// for every call (a packet's `skb`, a kept view): such a value is
    /// reachable without an anchor, so the call does not anchor it.
    fn kept(&self) -> bool {
        false
    }

    /// Pushes the value the lender keeps, if it exists already (a `kept`
    /// value after its first call), and returns what [`Lend::release`]
    /// needs; pushes nothing and returns `None` otherwise. Unlike `push`
    /// it never allocates nor raises, so [`call`] may use it outside a
    /// protected call.
    ///
    /// # Safety
    ///
    /// `L` is a valid state with room for one more value on its stack.
    unsafe fn push_kept(&self, L: *mut lua_State) -> Option<*mut c_void> {
        let _ = L;
        None
    }

    /// Ends the loan: called once after the call, with what `push` (or
    /// `push_kept`) returned, while the value is still reachable.
    ///
    /// # Safety
    ///
    /// `token` came from this value's `push` or `push_kept` in the call
    /// just ended.
    unsafe fn release(&self, token: *mut c_void);
}

/// The function [`call`] calls.
#[derive(Debug, Clone, Copy)]
pub enum Callee<'a> {
    /// A global function.
    Global(&'a CStr),
    /// A function kept with [`store_callback`].
    Callback(i64),
    /// A function a library keeps in the registry under the address of
    /// one of its statics (a light userdata key), such as the one
    /// `xdp.attach` sets.
    Slot(&'static u8),
}

/// Whether the registry holds a function under `key` (see
/// [`Callee::Slot`]). Never raises: a raw read of the registry with a
/// light userdata key neither allocates nor calls metamethods.
///
/// # Safety
///
/// `L` is a valid, idle state.
pub unsafe fn slot_holds_function(L: *mut lua_State, key: &'static u8) -> bool {
    // SAFETY: `L` is a valid, idle state (the contract), so its stack has
    // the LUA_MINSTACK room for the one value pushed and popped at once;
    // a raw read with a light userdata key neither allocates nor calls a
    // metamethod, so it cannot raise outside a protected call.
    unsafe {
        let t = lua_rawgetp(L, LUA_REGISTRYINDEX, (key as *const u8).cast());
        lua_pop(L, 1);
        t == LUA_TFUNCTION
    }
}

/// Keeps the function at `idx` among the state's callbacks, for the
/// kernel to call later, and returns its id: a reference in the registry
/// (`luaL_ref`), so calling it back is one array read. References are
/// handed out in order and never reused (a forgotten callback's slot keeps
/// `false`, see [`drop_callback`]), so the replicas of a per-CPU state that
/// run the same chunks give the same function the same id, and an old
/// handle never names a newer callback.
///
/// # Safety
///
/// `L` is in a protected call (this raises on memory errors); `idx` is a
/// valid absolute index of a function.
pub unsafe fn store_callback(L: *mut lua_State, idx: c_int) -> i64 {
    // SAFETY: `L` is in a protected call (the contract), so a memory error
    // in luaL_ref raises into it and skips no destructor (none is live);
    // `idx` is a valid index of a function, copied into the one slot of
    // room the call has, which luaL_ref pops.
    unsafe {
        lua_pushvalue(L, idx);
        i64::from(luaL_ref(L, LUA_REGISTRYINDEX))
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
    // SAFETY: `L` is a valid state (the contract) with room for the one
    // value pushed and popped here; a raw read and a raw write that
    // replaces an existing entry allocate nothing, so nothing raises
    // outside a protected call. Only a slot holding a function (a
    // callback) is replaced, never the registry's own entries.
    unsafe {
        if id >= 1 && lua_rawgeti(L, LUA_REGISTRYINDEX, id) == LUA_TFUNCTION {
            lua_pushboolean(L, 0);
            lua_rawseti(L, LUA_REGISTRYINDEX, id);
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
            // SAFETY: `L` is in a protected call (the contract), so the
            // raise lands in it; `self` and the values it records are
            // plain borrows with no destructor to skip.
            unsafe { luaL_error(L, c"too many data views".as_ptr()) };
        }
        // SAFETY: `L` is in a protected call (the contract), which is what
        // `push` asks; the lender's memory outlives the call (`Arg`
        // borrows it for the call's lifetime).
        let token = unsafe { value.push(L) };
        if !value.kept() {
            // SAFETY: `L` is in a protected call (the contract), so a
            // memory error in rawsetp is caught; `push` left exactly one
            // value (`Lend`'s contract), copied and popped here; one
            // anchor per lent value and `lent_len < MAX_LENT`, so
            // `ANCHORS[self.anchored]` is in bounds.
            unsafe {
                lua_pushvalue(L, -1);
                lua_rawsetp(
                    L,
                    LUA_REGISTRYINDEX,
                    (&raw const ANCHORS[self.anchored]).cast(),
                );
            }
            self.anchored += 1;
        }
        // Reachable (anchored, or kept by the lender): from here on the
        // value is released after the call, so it may show the lender's
        // memory.
        self.lent[self.lent_len] = (Some(value), token);
        self.lent_len += 1;
        // SAFETY: `token` came from `value`'s push just above.
        unsafe { value.attach(token) };
    }
}

impl CallArgs<'_> {
    /// Pushes the function and the arguments for a direct `lua_pcall`, when
    /// that cannot raise: a stored callback or slot (raw registry reads),
    /// and arguments that are plain values or values their lender keeps
    /// already. Returns false, with the stack back to the handler and
    /// nothing lent, when some cannot be pushed so; the call then goes
    /// through [`call_protected`].
    ///
    /// # Safety
    ///
    /// `L` is the idle main thread with the message handler alone on its
    /// stack.
    unsafe fn push_direct(&mut self, L: *mut lua_State) -> bool {
        // SAFETY: raw reads of the registry and pushes of plain values
        // neither allocate nor raise; `push_kept` never raises either. The
        // main thread outside any call has LUA_MINSTACK (20) free slots,
        // and this pushes at most 1 + MAX_LENT values.
        unsafe {
            let t = match self.func {
                // A global read may run a metamethod.
                Callee::Global(_) => return false,
                Callee::Callback(id) => lua_rawgeti(L, LUA_REGISTRYINDEX, id),
                Callee::Slot(key) => lua_rawgetp(L, LUA_REGISTRYINDEX, (key as *const u8).cast()),
            };
            let direct = t == LUA_TFUNCTION
                && self.args.len() <= MAX_LENT
                && self.args.iter().all(|arg| match *arg {
                    Arg::Nil => {
                        lua_pushnil(L);
                        true
                    }
                    Arg::Bool(b) => {
                        lua_pushboolean(L, c_int::from(b));
                        true
                    }
                    Arg::Int(i) => {
                        lua_pushinteger(L, i);
                        true
                    }
                    // A string is allocated.
                    Arg::Str(_) => false,
                    Arg::Lent(value) => match value.push_kept(L) {
                        Some(token) => {
                            self.lent[self.lent_len] = (Some(value), token);
                            self.lent_len += 1;
                            true
                        }
                        None => false,
                    },
                });
            if !direct {
                self.lent_len = 0;
                lua_settop(L, HANDLER);
                return false;
            }
            // Kept in the registry and released after the call whatever
            // happens: each may show the lender's memory now.
            for (value, token) in &self.lent[..self.lent_len] {
                if let Some(value) = value {
                    value.attach(*token);
                }
            }
            true
        }
    }
}

/// The protected part of [`call`]: pushes the function and the arguments
/// (lending what is lent) and calls it, with the message handler below.
///
/// # Safety
///
/// Only [`call`] calls this, through `lua_pcall`, with a light userdata
/// of its live [`CallArgs`] as argument 1.
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
                if lua_rawgeti(L, LUA_REGISTRYINDEX, id) != LUA_TFUNCTION {
                    luaL_error(L, c"no callback %d in this state".as_ptr(), id as c_int);
                }
            }
            Callee::Slot(key) => {
                if lua_rawgetp(L, LUA_REGISTRYINDEX, (key as *const u8).cast()) != LUA_TFUNCTION {
                    luaL_error(L, c"no function attached".as_ptr());
                }
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
/// (read them with `value_at`); on failure the error, with a traceback,
/// is on top (see `error_message`).
///
/// # Safety
///
/// `L` is the main thread of a state made by `new_state`, not running,
/// used by one caller at a time.
pub unsafe fn call(L: *mut lua_State, func: Callee<'_>, args: &[Arg<'_>]) -> Result<(), c_int> {
    let mut call = CallArgs {
        func,
        args,
        lent: [(None, core::ptr::null_mut()); MAX_LENT],
        lent_len: 0,
        anchored: 0,
    };
    // SAFETY: `L` is the idle main thread of a state made by `new_state`
    // (the contract), so it is accounted, as `begin_entry` asks, and the
    // emptied stack has room for the handler and the two values of the
    // protected path (`push_direct` bounds its own pushes); nothing
    // before lua_pcall can raise, and `call` outlives the protected call
    // that reads it.
    let status = unsafe {
        lua_settop(L, 0);
        account::begin_entry(L);
        lua_pushcclosure(L, traceback, 0);
        let status = if call.push_direct(L) {
            let nargs = c_int::try_from(args.len()).unwrap_or(c_int::MAX);
            lua_pcall(L, nargs, LUA_MULTRET, HANDLER)
        } else {
            lua_pushcclosure(L, call_protected, 0);
            lua_pushlightuserdata(L, core::ptr::addr_of_mut!(call).cast::<c_void>());
            lua_pcall(L, 1, LUA_MULTRET, HANDLER)
        };
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
    // is still reachable (anchored, or kept in the registry by its lender);
    // releasing calls nothing that raises (`Lend`'s contract), and
    // replacing an existing registry entry with nil neither allocates nor
    // raises.
    for (value, token) in &call.lent[..call.lent_len] {
        if let Some(value) = value {
            // SAFETY: `token` came from `value`'s push or push_kept in this
            // call.
            unsafe { value.release(*token) };
        }
    }
    for anchor in &ANCHORS[..call.anchored] {
        // SAFETY: `L` is the idle main thread again (`call`'s contract),
        // with room for the one value pushed and popped; setting an
        // existing registry entry to nil neither allocates nor raises, so
        // no protected call is needed.
        unsafe {
            lua_pushnil(L);
            lua_rawsetp(L, LUA_REGISTRYINDEX, (anchor as *const u8).cast());
        }
    }
    status
}
