// SPDX-License-Identifier: GPL-2.0

//! The safe handle library functions get: [`Lua`], the thread running a
//! library function for the length of that call, with the checks, pushes
//! and errors a library needs, and [`Class`], a userdata type with its
//! metatable. A library written against them holds no `unsafe` of its
//! own: its functions are plain `fn(&mut Lua<'_>) -> c_int`, made into
//! `lua_CFunction`s by [`lua_fn!`](crate::lua_fn).
//!
//! `core`-only, shared with the host tests.
//!
//! # The longjmp rule
//!
//! Lua raises errors with `longjmp`, which skips every Rust frame between
//! the raise and the `lua_pcall` that catches it without running
//! destructors (docs/architecture.md, "The longjmp rule"). Every method of
//! [`Lua`] documented as "may raise" can do that: a check that fails, an
//! allocation that hits the memory cap, the instruction budget. So a
//! library function must hold no value with a destructor (a lock guard, a
//! box, an `Arc`, an RCU read-side section) across a call to such a
//! method: it does its kernel work on plain data before or after. This is
//! the one rule the types cannot enforce; every other misuse either does
//! not compile or raises a Lua error.

use crate::lua::ffi::*;
use core::ffi::{c_int, CStr};
use core::marker::PhantomData;
use core::ptr::NonNull;

/// Makes a `lua_CFunction` of a safe `fn(&mut Lua<'_>) -> c_int`, which
/// returns how many values it pushed as results.
#[macro_export]
macro_rules! lua_fn {
    ($f:path) => {{
        /// Calls `$f` with a handle of the running thread.
        ///
        /// # Safety
        ///
        /// Lua calls this as a C function, in protected mode, with `L`
        /// its running thread.
        unsafe extern "C" fn trampoline(L: *mut $crate::lua::ffi::lua_State) -> core::ffi::c_int {
            // SAFETY: Lua calls this as a C function, in protected mode,
            // with `L` its running thread.
            let mut lua = unsafe { $crate::lua::Lua::from_raw(L) };
            $f(&mut lua)
        }
        trampoline as $crate::lua::ffi::lua_CFunction
    }};
}

/// The Lua thread running a library function, for the length of the call
/// (`'a`).
///
/// # Invariants
///
/// `L` is the running thread of a C function that Lua called in protected
/// mode, and `args` the number of values on its stack when the handle was
/// made (the arguments). The slots `1..=args` are never popped or replaced
/// through this handle, so values borrowed from them live for `'a`.
/// `kept` is at least `args`, and the slots `1..=kept` stay on the stack
/// for the call too: the arguments and the userdata this handle pushed
/// and lent out as references ([`Class::push`], [`Lua::push_buffer`]),
/// which therefore also live for `'a`. Nothing pops below `kept` but
/// [`Lua::pop_buffer`], which takes back the one reference to what it
/// pops.
pub struct Lua<'a> {
    L: NonNull<lua_State>,
    args: c_int,
    kept: c_int,
    _call: PhantomData<&'a mut lua_State>,
}

impl<'a> Lua<'a> {
    /// The handle of the running C function's thread. Every value on its
    /// stack now counts as an argument: the handle never pops it.
    ///
    /// # Safety
    ///
    /// `L` is the running thread of a C function Lua called in protected
    /// mode, and the handle does not outlive the call.
    pub unsafe fn from_raw(L: *mut lua_State) -> Self {
        // SAFETY: by the contract `L` is valid; reading the top never
        // raises.
        let args = unsafe { lua_gettop(L) };
        // INVARIANT: by the contract; nothing was pushed yet.
        Self {
            // SAFETY: a running thread is never null.
            L: unsafe { NonNull::new_unchecked(L) },
            args,
            kept: args,
            _call: PhantomData,
        }
    }

    /// The raw thread, for the layers below libraries (the interpreter, the
    /// replica) whose own functions take it.
    pub fn as_ptr(&self) -> *mut lua_State {
        self.L.as_ptr()
    }

    /// The number of arguments of the call.
    pub fn args(&self) -> c_int {
        self.args
    }

    /// The type of argument `arg` (`LUA_TNONE` past the last).
    pub fn type_of(&self, arg: c_int) -> c_int {
        // SAFETY: reading a type never raises; any index is acceptable.
        unsafe { lua_type(self.as_ptr(), arg) }
    }

    /// Raises "bad argument #`arg` (`msg`)". Never returns.
    pub fn arg_error(&mut self, arg: c_int, msg: &CStr) -> ! {
        // SAFETY: a protected call (type invariant); raising is the point.
        unsafe { luaL_argerror(self.as_ptr(), arg, msg.as_ptr()) }
    }

    /// Raises `msg`, prefixed with where the script is. Never returns.
    pub fn error(&mut self, msg: &CStr) -> ! {
        // SAFETY: `L` is the running thread of a protected call (type
        // invariant), so the raise lands in that call's `lua_pcall`; the
        // handle has no destructor to skip. `%s` takes the NUL-terminated
        // `msg` as is.
        unsafe { luaL_error(self.as_ptr(), c"%s".as_ptr(), msg.as_ptr()) }
    }

    /// Raises `fmt` with one `%s` filled from `arg`. Never returns.
    pub fn error_with(&mut self, fmt: &CStr, arg: &CStr) -> ! {
        // SAFETY: `L` is the running thread of a protected call (type
        // invariant), so the raise lands in its `lua_pcall`; callers pass
        // a format with exactly one `%s` (every use is a literal in a
        // library), filled from the NUL-terminated `arg`.
        unsafe { luaL_error(self.as_ptr(), fmt.as_ptr(), arg.as_ptr()) }
    }

    /// Argument `arg` as an integer; raises if it is not one. May raise.
    pub fn check_integer(&mut self, arg: c_int) -> i64 {
        // SAFETY: a protected call (type invariant).
        unsafe { luaL_checkinteger(self.as_ptr(), arg) }
    }

    /// Argument `arg` as an integer, `default` if absent or nil; raises
    /// if it is something else. May raise.
    pub fn opt_integer(&mut self, arg: c_int, default: i64) -> i64 {
        // SAFETY: a protected call (type invariant).
        unsafe { luaL_optinteger(self.as_ptr(), arg, default) }
    }

    /// Argument `arg` as a string (numbers are converted in place, as
    /// Lua does), NUL-terminated; raises if it is neither. May raise.
    pub fn check_string(&mut self, arg: c_int) -> &'a CStr {
        let mut len = 0usize;
        // SAFETY: a protected call; Lua strings end with a NUL after `len`
        // bytes and live while their slot does, which is `'a` for an
        // argument (type invariant).
        unsafe {
            let p = luaL_checklstring(self.as_ptr(), arg, &mut len);
            CStr::from_ptr(p)
        }
    }

    /// Argument `arg` as bytes (any string, embedded NULs included).
    /// May raise.
    pub fn check_bytes(&mut self, arg: c_int) -> &'a [u8] {
        let mut len = 0usize;
        // SAFETY: a protected call (type invariant), so a raise is caught;
        // on return `p` points at `len` bytes of a Lua string that lives
        // while its argument slot does, which is `'a` (type invariant).
        unsafe {
            let p = luaL_checklstring(self.as_ptr(), arg, &mut len);
            core::slice::from_raw_parts(p.cast(), len)
        }
    }

    /// Raises unless argument `arg` has type `t` (`LUA_TTABLE`, ...).
    /// May raise.
    pub fn check_type(&mut self, arg: c_int, t: c_int) {
        // SAFETY: a protected call (type invariant).
        unsafe { luaL_checktype(self.as_ptr(), arg, t) }
    }

    /// Pushes `t[name]` for the table argument `arg` and returns its type;
    /// read it with the `top_*` methods, then [`Lua::pop`] it. May raise
    /// (an `__index` metamethod).
    pub fn get_field(&mut self, arg: c_int, name: &CStr) -> c_int {
        self.grow();
        // SAFETY: a protected call; `arg` is an argument slot, and there is
        // room for the value (`grow`).
        unsafe { lua_getfield(self.as_ptr(), arg, name.as_ptr()) }
    }

    /// The value on top as an integer, if it is one.
    pub fn top_integer(&self) -> Option<i64> {
        // SAFETY: reading never raises or converts.
        unsafe {
            (lua_isinteger(self.as_ptr(), -1) != 0)
                .then(|| lua_tointegerx(self.as_ptr(), -1, core::ptr::null_mut()))
        }
    }

    /// The raw length of the table argument `arg` (`#t` without
    /// metamethods); 0 for a value that has none.
    pub fn raw_len(&self, arg: c_int) -> u64 {
        // SAFETY: reading a raw length never raises; any index is
        // acceptable.
        unsafe { lua_rawlen(self.as_ptr(), arg) }
    }

    /// Pushes `t[i]` of the table argument `arg`, without metamethods, and
    /// returns its type; read it with the `*_at` methods, then
    /// [`Lua::pop`] it. May raise (no stack room, or `arg` not a table).
    pub fn raw_get_index(&mut self, arg: c_int, i: i64) -> c_int {
        if arg < 1 || arg > self.args || self.type_of(arg) != LUA_TTABLE {
            self.error(c"library error: no table argument");
        }
        self.grow();
        // SAFETY: `arg` is a table argument (checked above) and there is
        // room for the value (`grow`); a raw read never raises.
        unsafe { lua_rawgeti(self.as_ptr(), arg, i) }
    }

    /// Steps a traversal of the table argument `arg`: pops the key this
    /// call pushed last (push nil to start) and pushes the next key and its
    /// value, returning true; at the end pushes nothing and returns false.
    /// The table must not change during the traversal. May raise (an
    /// invalid key, no stack room).
    pub fn next(&mut self, arg: c_int) -> bool {
        if arg < 1 || arg > self.args || self.type_of(arg) != LUA_TTABLE {
            self.error(c"library error: no table argument");
        }
        self.room(1);
        if self.top() - 1 < self.kept {
            self.error(c"library error: pop below the arguments or a lent userdata");
        }
        self.reserve(2);
        // SAFETY: a protected call, so an invalid key raises into its
        // `lua_pcall`; `arg` is a table argument and the key on top was
        // pushed by this call (checked above), with room for two values.
        unsafe { lua_next(self.as_ptr(), arg) != 0 }
    }

    /// The bytes of the string at stack index `idx` (negative from the
    /// top), without converting numbers; `None` for any other type. The
    /// bytes live while the value stays on the stack, so they are borrowed
    /// from the handle: nothing can pop the value while they are used.
    pub fn bytes_at(&self, idx: c_int) -> Option<&[u8]> {
        if self.type_of(idx) != LUA_TSTRING {
            return None;
        }
        let mut len = 0usize;
        // SAFETY: the value is a string (checked above), so lua_tolstring
        // neither converts nor raises; Lua strings never move and live
        // while their slot holds them, which the borrow of `self` keeps
        // (every pop takes `&mut self`).
        unsafe {
            let p = lua_tolstring(self.as_ptr(), idx, &mut len);
            Some(core::slice::from_raw_parts(p.cast(), len))
        }
    }

    /// The integer at stack index `idx` (negative from the top), if it is
    /// one (a float-free build has no other numbers).
    pub fn integer_at(&self, idx: c_int) -> Option<i64> {
        // SAFETY: reading never raises or converts; any index is
        // acceptable.
        unsafe {
            (lua_isinteger(self.as_ptr(), idx) != 0)
                .then(|| lua_tointegerx(self.as_ptr(), idx, core::ptr::null_mut()))
        }
    }

    /// The value on top as a boolean (Lua's truth: all but nil and false).
    pub fn top_bool(&self) -> bool {
        // SAFETY: reading never raises.
        unsafe { lua_toboolean(self.as_ptr(), -1) != 0 }
    }

    /// Argument `arg` as a flag: `false` if absent or nil, the boolean
    /// if one; raises for any other type. May raise.
    pub fn opt_bool(&mut self, arg: c_int) -> bool {
        match self.type_of(arg) {
            t if t <= LUA_TNIL => false,
            LUA_TBOOLEAN => {
                // SAFETY: reading a boolean argument never raises.
                unsafe { lua_toboolean(self.as_ptr(), arg) != 0 }
            }
            _ => self.arg_error(arg, c"boolean expected"),
        }
    }

    /// The absolute index of the value on top.
    pub fn top(&self) -> c_int {
        // SAFETY: reading the top never raises.
        unsafe { lua_gettop(self.as_ptr()) }
    }

    /// Pops `n` values this function pushed; raises if it pushed fewer
    /// (the arguments stay), or if that would pop a userdata lent out as a
    /// reference (see [`Lua::push_buffer`]). May raise.
    pub fn pop(&mut self, n: c_int) {
        if n < 0 || self.top() - n < self.kept {
            self.error(c"library error: pop below the arguments or a lent userdata");
        }
        // SAFETY: only values pushed by this call are removed.
        unsafe { lua_settop(self.as_ptr(), -n - 1) }
    }

    /// Pushes a copy of argument `arg`. May raise (no stack room, or no
    /// such argument).
    pub fn push_arg(&mut self, arg: c_int) {
        if arg < 1 || arg > self.args {
            self.error(c"library error: no such argument");
        }
        self.grow();
        // SAFETY: `arg` is an argument slot (checked above), and there is
        // room for the copy (`grow`); copying never raises.
        unsafe { lua_pushvalue(self.as_ptr(), arg) }
    }

    /// Calls the function pushed under the `nargs` values on top, all
    /// pushed by this call, and leaves `nresults` results in their place.
    /// May raise: whatever the function raises.
    pub fn call(&mut self, nargs: c_int, nresults: c_int) {
        if nargs < 0 || nresults < 0 || self.top() - nargs - 1 < self.kept {
            self.error(c"library error: call below the pushed values");
        }
        self.reserve(nresults);
        // SAFETY: a protected call (type invariant), so what the function
        // raises lands in its `lua_pcall`; the function and its arguments
        // are values this call pushed above `kept` (checked above), which
        // lua_callk pops, and there is room for the results (`reserve`).
        // No continuation: a yield across this call raises.
        unsafe { lua_callk(self.as_ptr(), nargs, nresults, 0, core::ptr::null()) }
    }

    /// Charges the work of copying `bytes` bytes to the entry's budget,
    /// as Lua's own copies are (`account::charge_bytes`). May raise (the
    /// budget or the deadline spent).
    pub fn charge_bytes(&mut self, bytes: usize) {
        // SAFETY: `L` is the running thread of a protected call (type
        // invariant) of an accounted state (every state, kernel or host,
        // is made by `interp::new_state`), where raising is allowed.
        unsafe { crate::lua::account::charge_bytes(self.as_ptr(), bytes) }
    }

    /// Raises `fmt` with one `%I` filled from `v`. Never returns.
    pub fn error_with_integer(&mut self, fmt: &CStr, v: i64) -> ! {
        // SAFETY: `L` is the running thread of a protected call (type
        // invariant), so the raise lands in its `lua_pcall`; callers pass
        // a format with exactly one `%I` (every use is a literal in a
        // library), which takes a `lua_Integer`.
        unsafe { luaL_error(self.as_ptr(), fmt.as_ptr(), v as lua_Integer) }
    }

    /// Pushes a userdata of `len` zeroed bytes, scratch memory no script
    /// can reach, and returns them. It stays on the stack for the call
    /// (so the bytes live for `'a`): [`Lua::pop`] refuses to pop it, only
    /// [`Lua::pop_buffer`] does, given the bytes back. May raise (memory).
    pub fn push_buffer(&mut self, len: usize) -> &'a mut [u8] {
        self.grow();
        // SAFETY: a protected call (type invariant), so a memory error is
        // caught; room for one value (`grow`). The block is fresh, `len`
        // bytes long, zeroed here before it is lent, and Lua never moves
        // a userdata; it stays on the stack (`kept`, set below, which only
        // `pop_buffer` lowers) until the call returns, so it lives for
        // `'a`; without a metatable or a uservalue, nothing else reaches
        // its bytes.
        let bytes = unsafe {
            let p = lua_newuserdatauv(self.as_ptr(), len, 0).cast::<u8>();
            core::ptr::write_bytes(p, 0, len);
            core::slice::from_raw_parts_mut(p, len)
        };
        // INVARIANT: the new userdata is on top, lent out.
        self.kept = self.top();
        bytes
    }

    /// Pops the buffer `bytes` that [`Lua::push_buffer`] pushed, which must
    /// be the value on top; raises otherwise. Taking the one reference to
    /// the bytes, it leaves none behind. May raise.
    pub fn pop_buffer(&mut self, bytes: &'a mut [u8]) {
        let top = self.top();
        // SAFETY: reading the top value never raises.
        let p = unsafe { lua_touserdata(self.as_ptr(), top) };
        if top <= self.args || p.cast::<u8>() != bytes.as_mut_ptr() {
            self.error(c"library error: the buffer is not on top");
        }
        // SAFETY: the top value is the buffer (checked above), pushed by
        // this call above the arguments; the one reference to its bytes
        // was given back. Popping never raises.
        unsafe { lua_settop(self.as_ptr(), -2) };
        // INVARIANT: what stays on the stack stays kept, if it was not.
        self.kept = self.top().max(self.args);
    }

    /// Pushes uservalue `n` of the userdata argument `arg` and returns its
    /// type (`LUA_TNONE`, pushing nil, if it has no such slot).
    pub fn push_uservalue(&mut self, arg: c_int, n: c_int) -> c_int {
        self.grow();
        // SAFETY: a protected call with room for the value (`grow`);
        // reading a uservalue never raises.
        unsafe { lua_getiuservalue(self.as_ptr(), arg, n) }
    }

    /// Raises unless `n` more values were pushed by this call.
    fn room(&mut self, n: c_int) {
        if self.top() - self.args < n {
            self.error(c"library error: too few values pushed");
        }
    }

    /// Makes room on the stack for one more value (a C function is only
    /// guaranteed `LUA_MINSTACK` slots); raises "stack overflow" if Lua
    /// cannot grow it.
    fn grow(&mut self) {
        self.reserve(1);
    }

    /// Makes room on the stack for `n` more values, as [`Lua::grow`].
    fn reserve(&mut self, n: c_int) {
        // SAFETY: a protected call (type invariant); this raises rather
        // than let a push write past the stack.
        unsafe { luaL_checkstack(self.as_ptr(), n, core::ptr::null()) }
    }

    /// Pushes an integer. May raise (no stack room).
    pub fn push_integer(&mut self, v: i64) {
        self.grow();
        // SAFETY: a protected call with room for the value (`grow`).
        unsafe { lua_pushinteger(self.as_ptr(), v) }
    }

    /// Pushes a boolean.
    pub fn push_bool(&mut self, v: bool) {
        self.grow();
        // SAFETY: `L` is a live thread (type invariant) with room for one
        // value (`grow`); pushing a boolean never raises.
        unsafe { lua_pushboolean(self.as_ptr(), c_int::from(v)) }
    }

    /// Pushes nil.
    pub fn push_nil(&mut self) {
        self.grow();
        // SAFETY: `L` is a live thread (type invariant) with room for one
        // value (`grow`); pushing nil never raises.
        unsafe { lua_pushnil(self.as_ptr()) }
    }

    /// Pushes a string of any bytes. May raise (memory).
    pub fn push_bytes(&mut self, s: &[u8]) {
        self.grow();
        // SAFETY: a protected call (type invariant), so a memory error is
        // caught; room for one value (`grow`); `s` is valid for `s.len()`
        // bytes and Lua copies them before returning.
        unsafe { lua_pushlstring(self.as_ptr(), s.as_ptr().cast(), s.len()) };
    }

    /// Pushes a string of the `len` bytes at `p`, which Lua copies before
    /// this returns, and before it may run any Lua code (a finalizer in a
    /// collection step), so no Rust reference to them is ever formed.
    /// May raise (memory).
    ///
    /// # Safety
    ///
    /// `p` is valid for reads of `len` bytes until this returns.
    pub unsafe fn push_raw_bytes(&mut self, p: *const u8, len: usize) {
        self.grow();
        // SAFETY: a protected call (type invariant), so a memory error is
        // caught; room for one value (`grow`); `p` is valid for `len`
        // bytes (the contract), and lua_pushlstring copies them into the
        // new string before its collection step.
        unsafe { lua_pushlstring(self.as_ptr(), p.cast(), len) };
    }

    /// Pushes a C function. May raise (memory).
    pub fn push_function(&mut self, f: lua_CFunction) {
        self.grow();
        // SAFETY: a protected call (type invariant), so a memory error is
        // caught; room for one value (`grow`); no upvalues are taken.
        unsafe { lua_pushcclosure(self.as_ptr(), f, 0) }
    }

    /// Pushes a new table with room for `records` fields. May raise.
    pub fn push_table(&mut self, records: usize) {
        let records = c_int::try_from(records).unwrap_or(0);
        self.grow();
        // SAFETY: a protected call (type invariant), so a memory error is
        // caught; room for one value (`grow`).
        unsafe { lua_createtable(self.as_ptr(), 0, records) }
    }

    /// Pops the value on top into field `name` of the table under it,
    /// both pushed by this call (and not a lent userdata). May raise.
    pub fn set_field(&mut self, name: &CStr) {
        self.room(2);
        if self.top() - 1 < self.kept {
            self.error(c"library error: pop below the arguments or a lent userdata");
        }
        // SAFETY: a protected call; two pushed values (checked above).
        unsafe { lua_setfield(self.as_ptr(), -2, name.as_ptr()) }
    }

    /// Sets the functions `entries` in the table on top. May raise.
    pub fn set_functions(&mut self, entries: &[(&CStr, lua_CFunction)]) {
        for (name, f) in entries {
            self.push_function(*f);
            self.set_field(name);
        }
    }

    /// Sets the integers `entries` in the table on top. May raise.
    pub fn set_integers(&mut self, entries: &[(&CStr, i64)]) {
        for (name, v) in entries {
            self.push_integer(*v);
            self.set_field(name);
        }
    }

    /// Pushes a new table holding `entries`. May raise.
    pub fn push_integers(&mut self, entries: &[(&CStr, i64)]) {
        self.push_table(entries.len());
        self.set_integers(entries);
    }

    /// Keeps the function at absolute index `idx` among the state's
    /// callbacks and returns its id (`interp::store_callback`). May raise.
    pub fn store_callback(&mut self, idx: c_int) -> i64 {
        if idx < 1 || idx > self.top() || self.type_of(idx) != LUA_TFUNCTION {
            self.error(c"library error: no function to store");
        }
        // SAFETY: a protected call; `idx` is a live absolute index.
        unsafe { crate::lua::interp::store_callback(self.as_ptr(), idx) }
    }

    /// Keeps the function at absolute index `idx` in the registry under
    /// `key`, replacing what was there (`interp::Callee::Slot` calls it). May
    /// raise (memory).
    pub fn set_slot(&mut self, key: &'static u8, idx: c_int) {
        if idx < 1 || idx > self.top() || self.type_of(idx) != LUA_TFUNCTION {
            self.error(c"library error: no function to keep");
        }
        // SAFETY: a protected call; the push fits the room every C
        // function has (LUA_MINSTACK), and rawsetp pops it.
        unsafe {
            lua_pushvalue(self.as_ptr(), idx);
            lua_rawsetp(self.as_ptr(), LUA_REGISTRYINDEX, (key as *const u8).cast());
        }
    }

    /// Empties the registry slot `key`. Never raises: setting an existing
    /// key to nil, or a missing one, allocates nothing.
    pub fn clear_slot(&mut self, key: &'static u8) {
        // SAFETY: a protected call (type invariant); the one push fits the
        // LUA_MINSTACK room every C function has, and rawsetp pops it.
        // Assigning nil allocates nothing, so neither call raises.
        unsafe {
            lua_pushnil(self.as_ptr());
            lua_rawsetp(self.as_ptr(), LUA_REGISTRYINDEX, (key as *const u8).cast());
        }
    }
}

/// A userdata type: values of `T` inside Lua, with one metatable per interpreter
/// made on first use: `__name` (by `luaL_newmetatable`), `__index` with
/// the methods, the metamethods (a `__gc` for a `T` that owns something),
/// and `__metatable`, so scripts can neither read nor replace it.
///
/// Lua never runs a destructor of `T` by itself: a class whose values own
/// something lists a `__gc` that releases it, [`Class::FINALIZER`] for a
/// `T` that holds what it owns in a `Default`-emptiable form.
pub struct Class<T: 'static> {
    /// The metatable's name in the registry, shown as `__name`.
    pub name: &'static CStr,
    /// The methods, reached through `__index`.
    pub methods: &'static [(&'static CStr, lua_CFunction)],
    /// The metamethods (`__len`, `__gc`, ...).
    pub metamethods: &'static [(&'static CStr, lua_CFunction)],
    /// The type of the values.
    pub _values: PhantomData<fn() -> T>,
}

impl<T: Default + 'static> Class<T> {
    /// A `__gc` for a class whose `T` owns something: it moves the value
    /// out, leaving `T::default()`, and drops it. A finalized object a
    /// script brings back to life (a finalizer may keep it) thus holds the
    /// default: an emptied value, never a dropped one.
    pub const FINALIZER: lua_CFunction = finalize::<T>;
}

/// The `__gc` of [`Class::FINALIZER`].
///
/// # Safety
///
/// Lua calls this as a metamethod of a class of values of type `T`, with
/// the class's metatable as upvalue 1 (every metamethod has it, see
/// `push_metatable`).
unsafe extern "C" fn finalize<T: Default + 'static>(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls `__gc` with the object at 1; only a userdata whose
    // metatable is this class's (upvalue 1, compared without raising)
    // holds a `T` (`Class::push_with`). Lua finalizes an object once it is
    // unreachable, so no running call holds it in an argument or kept
    // slot, where every reference to a `T` comes from (the `Lua`
    // invariant): this one is the only one. Scripts cannot call this
    // function, which only the hidden metatable holds (`__metatable`).
    // Dropping the old value calls no Lua.
    unsafe {
        let ud = lua_touserdata(L, 1);
        if ud.is_null() || lua_getmetatable(L, 1) == 0 {
            return 0;
        }
        let ours = lua_rawequal(L, -1, lua_upvalueindex(1)) != 0;
        lua_pop(L, 1);
        if ours {
            drop(core::mem::take(&mut *ud.cast::<T>()));
        }
    }
    0
}

impl<T: 'static> Class<T> {
    /// Pushes the class's metatable, made if this interpreter has none yet.
    fn push_metatable(&self, lua: &mut Lua<'_>) {
        // The metatable, and while it is made a table, a copy of the
        // metatable and a function.
        lua.reserve(4);
        let L = lua.as_ptr();
        // SAFETY: a protected call; luaL_newmetatable pushes the existing
        // table or a new one with `__name` set, and the fields are set on
        // it before it is shared.
        unsafe {
            if luaL_newmetatable(L, self.name.as_ptr()) == 0 {
                return;
            }
            // Every method and metamethod holds the metatable as upvalue
            // 1, for `check`.
            if !self.methods.is_empty() {
                lua_createtable(L, 0, self.methods.len() as c_int);
                for (name, f) in self.methods {
                    lua_pushvalue(L, -2);
                    lua_pushcclosure(L, *f, 1);
                    lua_setfield(L, -2, name.as_ptr());
                }
                lua_setfield(L, -2, c"__index".as_ptr());
            }
            for (name, f) in self.metamethods {
                lua_pushvalue(L, -1);
                lua_pushcclosure(L, *f, 1);
                lua_setfield(L, -2, name.as_ptr());
            }
            lua_pushstring(L, self.name.as_ptr());
            lua_setfield(L, -2, c"__metatable".as_ptr());
        }
    }

    /// Pushes a new userdata of this class holding `value`, with `uservalues`
    /// uservalue slots, and returns it. May raise (memory): a `T` with a
    /// destructor is made with [`Class::push_default`] instead, so that no
    /// such value is live while Lua may raise (the longjmp rule).
    pub fn push<'a>(&self, lua: &mut Lua<'a>, value: T, uservalues: c_int) -> &'a T {
        self.push_with(lua, 0, uservalues, |_| value)
    }

    /// Pushes a new userdata of this class holding `T::default()`, made
    /// once nothing can raise any more, and returns it. May raise (memory).
    pub fn push_default<'a>(&self, lua: &mut Lua<'a>, uservalues: c_int) -> &'a T
    where
        T: Default,
    {
        self.push_with(lua, 0, uservalues, |_| T::default())
    }

    /// Pushes a new userdata of this class holding `make(tail)`, where
    /// `tail` points to `tail_len` zeroed bytes that follow the value in
    /// the same userdata and live as long as it (`data.new`'s bytes), and
    /// returns it. `make` runs once nothing can raise any more. May raise
    /// (memory).
    pub fn push_with<'a>(
        &self,
        lua: &mut Lua<'a>,
        tail_len: usize,
        uservalues: c_int,
        make: impl FnOnce(*mut u8) -> T,
    ) -> &'a T {
        let size = match core::mem::size_of::<T>().checked_add(tail_len) {
            Some(size) => size,
            None => lua.error(c"not enough memory"),
        };
        lua.grow();
        let L = lua.as_ptr();
        // SAFETY: a protected call; the block is fresh, `size` bytes long
        // and aligned as Lua aligns every block (LUAI_MAXALIGN, 8 bytes,
        // enough for the plain-data types classes hold), so the tail lies
        // inside it after the value. Every call that may raise
        // (allocating the userdata, then the metatable) comes before the
        // value is made and written, and setting the metatable then does
        // not raise, so the userdata never holds a value without its
        // class's `__gc`. It lives while the userdata is reachable, at
        // least during the call: it stays on the stack (`kept`, the `Lua`
        // invariant, set below).
        unsafe {
            let p = lua_newuserdatauv(L, size, uservalues).cast::<u8>();
            let tail = p.add(core::mem::size_of::<T>());
            core::ptr::write_bytes(tail, 0, tail_len);
            self.push_metatable(lua);
            p.cast::<T>().write(make(tail));
            lua_setmetatable(L, -2);
            // INVARIANT: the new userdata is on top, lent out.
            lua.kept = lua.top();
            &*p.cast::<T>()
        }
    }

    /// The userdata of this class at argument `arg`; raises if it is not
    /// one. May raise.
    ///
    /// Inside one of this class's methods, which hold the metatable as
    /// upvalue 1 (see `push_metatable`), the usual case is one comparison
    /// with it, not a lookup of the metatable by name in the registry (a
    /// string key) as `luaL_checkudata` does; anything else goes through
    /// `luaL_checkudata`, for its error.
    pub fn check<'a>(&self, lua: &mut Lua<'a>, arg: c_int) -> &'a T {
        lua.reserve(1);
        let L = lua.as_ptr();
        // SAFETY: a protected call; only `push` makes userdata with this
        // metatable, each holding an initialised `T`, alive while the
        // argument slot holds it (`'a`, the `Lua` invariant). Comparing
        // pushes one value and pops it, and never raises; in a function
        // without upvalues, upvalue 1 is an acceptable index that compares
        // unequal to everything.
        unsafe {
            let ud = lua_touserdata(L, arg);
            if !ud.is_null() && lua_getmetatable(L, arg) != 0 {
                let ours = lua_rawequal(L, -1, lua_upvalueindex(1)) != 0;
                lua_pop(L, 1);
                if ours {
                    return &*ud.cast::<T>();
                }
            }
            &*luaL_checkudata(L, arg, self.name.as_ptr()).cast::<T>()
        }
    }

    /// The raw block of the userdata at argument `arg`, for a `__gc` that
    /// releases what a `T` owns; raises if it is not one of this class.
    pub fn check_raw(&self, lua: &mut Lua<'_>, arg: c_int) -> *mut T {
        // SAFETY: a protected call (type invariant), so a wrong type
        // raises into its `lua_pcall`; on return the block is a userdata
        // with this class's metatable, which only `push` sets, so it is
        // a `T`-sized block holding a `T`; the caller that dereferences
        // the raw pointer states why.
        unsafe { luaL_checkudata(lua.as_ptr(), arg, self.name.as_ptr()).cast::<T>() }
    }
}
