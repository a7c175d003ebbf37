// SPDX-License-Identifier: GPL-2.0

//! The `rcu` library: hash tables shared between states, read without
//! locks under RCU from any context (Lunatik's `rcu`; docs/architecture.md,
//! "Libraries for scripts").
//!
//! `rcu.table([buckets])` makes a table, `rcu.table(name)` opens the table
//! of that name shared by every state of the namespace, `t[k]` reads,
//! `t[k] = v` writes (`nil` deletes), `rcu.map(t, f)` calls `f(k, v)` for
//! each entry. Keys are strings under 256 bytes; values are booleans,
//! integers or strings (up to [`VALUE_MAX`] bytes).
//!
//! How it is safe:
//! - The tables themselves ([`crate::luarcu::table`]) read under RCU without
//!   locks and free old entries after a grace period.
//! - Lua errors are longjmps, so no RCU section, lock guard or allocation
//!   is ever live across a Lua call that may raise: every table operation
//!   is a Rust function that takes plain data and returns plain data, and
//!   Lua is called before or after it. A string value is copied out in two
//!   steps: its length under RCU, a Lua buffer allocated outside, then the
//!   copy under RCU again (retried if the value changed meanwhile).
//! - A table lives as long as an `Arc` holds it: each Lua handle holds
//!   one, and the namespace's index of named tables holds one for each
//!   name until the namespace goes away (or the module is unloaded).
//!
//! Memory: every table counts against the quota of its network namespace
//! (luarcu/quota.rs, luarcu/space.rs): bytes (entries, headers, bucket
//! arrays, the index of names) and tables. Past it a write or a new table
//! raises "rcu quota exceeded", and nothing changes. This memory belongs
//! to the namespace, not to a state's memory cap, as tables outlive and
//! are shared by states.

use crate::glue::net::NetRef;
use crate::lua::ffi::*;
use crate::luarcu::quota::{Exceeded, LIMITS};
use crate::luarcu::space::{Space, NAMED_BUCKETS};
use crate::luarcu::table::{
    Entry, MakeError, Snapshot, Table, Value, WriteError, KEY_MAX, MAX_BUCKETS, VALUE_MAX,
};
use crate::uapi::name::Name;
use core::ffi::{c_int, CStr};
use kernel::alloc::Flags;
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::states::library::Library;

/// The `rcu` library: its Lua module, the module-wide tree of the
/// namespaces' spaces, and each namespace's space (with its named tables).
pub(crate) static LIBRARY: Library = Library {
    init: Some(crate::luarcu::space::init),
    exit: Some(crate::luarcu::space::exit),
    net_init: Some(crate::luarcu::space::net_init),
    net_exit: Some(crate::luarcu::space::net_exit),
    ..Library::new("rcu", &[(c"rcu", open)])
};

/// Buckets of an anonymous table made without a count.
const DEFAULT_BUCKETS: usize = NAMED_BUCKETS;

/// The handles' metatable.
const MT: &CStr = c"rcu.table";

/// Makes the table `rcu.table` asked for and returns a reference to it as
/// a raw pointer (from `Arc::into_raw`). Every value with a destructor
/// (the space, the table) is dropped before this returns, so the caller
/// may raise right after.
fn make(
    net: NetRef,
    name: Option<Name>,
    buckets: usize,
    flags: Flags,
) -> Result<*const Table, MakeError> {
    let space = Space::of(net).ok_or(MakeError::Gone)?;
    let table = match name {
        Some(name) => space.named(name, flags)?,
        None => Table::new(buckets, None, space.pool(), flags)?,
    };
    Ok(Arc::into_raw(table))
}

/// Raises the error of a quota crossed.
///
/// # Safety
///
/// `L` is the calling thread, in a protected call, with no value with a
/// destructor live in the caller.
unsafe fn quota_error(L: *mut lua_State, e: Exceeded) -> ! {
    // SAFETY: `L` is the calling thread in a protected call (the
    // contract), so the raise lands in its `lua_pcall`, and the caller
    // holds no value with a destructor (the contract), so the longjmp
    // skips none; `%I` takes a `lua_Integer`, and the limits fit.
    unsafe {
        match e {
            Exceeded::Bytes => luaL_error(
                L,
                c"rcu quota exceeded: %I bytes per namespace".as_ptr(),
                LIMITS.bytes as lua_Integer,
            ),
            Exceeded::Tables => luaL_error(
                L,
                c"rcu quota exceeded: %I tables per namespace".as_ptr(),
                LIMITS.tables as lua_Integer,
            ),
        }
    }
}

/// What the machine running `L` gives the library: its namespace and
/// whether it must allocate atomically.
fn context(L: *mut lua_State) -> (NetRef, Flags) {
    // SAFETY: `L` is a thread of a kernel machine (every state opens this
    // library through `crate::states::machine`).
    let (net, context) = unsafe { crate::states::machine::context(L) };
    (net, context.flags())
}

/// The table handle at argument `arg`.
///
/// # Safety
///
/// `L` is the calling thread; this raises if the argument is no handle.
unsafe fn check<'a>(L: *mut lua_State, arg: c_int) -> &'a Table {
    // SAFETY: handles with this metatable hold null or a pointer from
    // Arc::into_raw, released only by `__gc`, which runs after the last use.
    unsafe {
        let p = *luaL_checkudata(L, arg, MT.as_ptr()).cast::<*const Table>();
        if p.is_null() {
            luaL_argerror(L, arg, c"rcu table not made".as_ptr());
        }
        &*p
    }
}

/// The key at argument 2.
///
/// # Safety
///
/// `L` is the calling thread, in a protected call (this raises if the
/// argument is not a key); the key stays on the stack while the slice is
/// used.
unsafe fn check_key<'a>(L: *mut lua_State) -> &'a [u8] {
    // SAFETY: `L` is the calling thread in a protected call (the
    // contract), so the argument errors raise into it and skip no
    // destructor; argument 2 is a string (checked first), so
    // lua_tolstring neither converts nor allocates, and its `len` bytes
    // live while the argument stays on the stack (the contract).
    unsafe {
        if lua_type(L, 2) != LUA_TSTRING {
            luaL_argerror(L, 2, c"rcu keys are strings".as_ptr());
        }
        let mut len = 0usize;
        let p = lua_tolstring(L, 2, &mut len);
        if len > KEY_MAX {
            luaL_argerror(L, 2, c"rcu key longer than 255 bytes".as_ptr());
        }
        core::slice::from_raw_parts(p.cast(), len)
    }
}

/// Pushes an empty handle and returns its slot, to be filled with a
/// reference from `Arc::into_raw` once the table exists. Made first, so
/// that no reference is ever held while Lua may raise.
///
/// # Safety
///
/// `L` is in a protected call (this raises on memory errors) of a state
/// that opened the library.
unsafe fn push_handle(L: *mut lua_State) -> *mut *const Table {
    // SAFETY: `L` is in a protected call (the contract), so a memory error
    // raises into it, while no reference to a table exists yet, so no
    // `Arc` leaks; the block is a pointer's size and aligned for it (Lua
    // aligns blocks to 8), written null before the metatable, which the
    // opened library registered, makes `__gc` see it; `__gc` and `check`
    // accept a null slot.
    unsafe {
        let slot =
            lua_newuserdatauv(L, core::mem::size_of::<*const Table>(), 0).cast::<*const Table>();
        slot.write(core::ptr::null());
        luaL_setmetatable(L, MT.as_ptr());
        slot
    }
}

/// Reads a value's small part under RCU: what to push, or the length of a
/// string to copy out.
enum Found {
    Nil,
    Bool(bool),
    Int(i64),
    Str(usize),
}

fn found(e: Option<&Entry>) -> Found {
    match e.map(Entry::value) {
        None => Found::Nil,
        Some(Value::Bool(b)) => Found::Bool(b),
        Some(Value::Int(i)) => Found::Int(i),
        Some(Value::Str(s)) => Found::Str(s.len()),
    }
}

/// `t[k]`.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn index(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua. Lua is called only between the table reads,
    // each a closed RCU section holding no Lua call, so no RCU section or
    // Drop value is live when something raises.
    unsafe {
        let t = check(L, 1);
        let key = check_key(L);
        let mut want = match t.read(key, found) {
            Found::Nil => {
                lua_pushnil(L);
                return 1;
            }
            Found::Bool(b) => {
                lua_pushboolean(L, c_int::from(b));
                return 1;
            }
            Found::Int(i) => {
                lua_pushinteger(L, i);
                return 1;
            }
            Found::Str(n) => n,
        };
        // A writer may change the value between the reads; each retry
        // sizes the buffer for what it saw last.
        for _ in 0..8 {
            let buf = lua_newuserdatauv(L, want.max(1), 0).cast::<u8>();
            let cap = want;
            let got = t.read(key, |e| match e.map(Entry::value) {
                Some(Value::Str(s)) if s.len() <= cap => {
                    core::ptr::copy_nonoverlapping(s.as_ptr(), buf, s.len());
                    Ok(s.len())
                }
                other => Err(other.map(|v| match v {
                    Value::Bool(b) => Found::Bool(b),
                    Value::Int(i) => Found::Int(i),
                    Value::Str(s) => Found::Str(s.len()),
                })),
            });
            match got {
                Ok(n) => {
                    lua_pushlstring(L, buf.cast(), n);
                    return 1;
                }
                Err(None) => lua_pushnil(L),
                Err(Some(Found::Bool(b))) => lua_pushboolean(L, c_int::from(b)),
                Err(Some(Found::Int(i))) => lua_pushinteger(L, i),
                Err(Some(Found::Str(n))) => {
                    lua_pop(L, 1);
                    want = n;
                    continue;
                }
                Err(Some(Found::Nil)) => lua_pushnil(L),
            }
            return 1;
        }
        luaL_error(L, c"rcu value changing too fast to read".as_ptr())
    }
}

/// `t[k] = v`.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn newindex(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua; the checks raise before the write, and the
    // write's outcome is raised after it, when no lock or RCU section is
    // held and the strings are still on the stack.
    unsafe {
        let t = check(L, 1);
        let key = check_key(L);
        let value = match lua_type(L, 3) {
            LUA_TNIL => None,
            LUA_TBOOLEAN => Some(Value::Bool(lua_toboolean(L, 3) != 0)),
            LUA_TNUMBER => Some(Value::Int(luaL_checkinteger(L, 3))),
            LUA_TSTRING => {
                let mut len = 0usize;
                let p = lua_tolstring(L, 3, &mut len);
                if len > VALUE_MAX {
                    luaL_argerror(L, 3, c"rcu value longer than 65536 bytes".as_ptr());
                }
                Some(Value::Str(core::slice::from_raw_parts(p.cast(), len)))
            }
            _ => luaL_argerror(
                L,
                3,
                c"rcu values are booleans, integers or strings".as_ptr(),
            ),
        };
        let (_, flags) = context(L);
        match t.write(key, value, flags) {
            Ok(()) => {}
            Err(WriteError::NoMemory) => luaL_error(L, c"not enough memory".as_ptr()),
            Err(WriteError::Quota(e)) => quota_error(L, e),
        }
    }
    0
}

/// `__gc`: releases the handle's reference.
///
/// # Safety
///
/// Lua calls this as the handles' `__gc`, with `L` its running thread
/// and the handle at argument 1.
unsafe extern "C" fn gc(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls `__gc` once per handle, after its last use; the
    // slot is cleared so a resurrected handle cannot release twice.
    unsafe {
        let slot = lua_touserdata(L, 1).cast::<*const Table>();
        if !slot.is_null() && !(*slot).is_null() {
            drop(Arc::from_raw(*slot));
            *slot = core::ptr::null();
        }
    }
    0
}

/// `tostring(t)`: "rcu.table" and the table's name, never an address.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn tostring(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua.
    unsafe {
        let t = check(L, 1);
        match &t.name {
            Some(n) => {
                lua_pushstring(L, c"rcu.table ".as_ptr());
                lua_pushlstring(L, n.as_bytes().as_ptr().cast(), n.as_bytes().len());
                lua_concat(L, 2);
            }
            None => {
                lua_pushstring(L, MT.as_ptr());
            }
        }
    }
    1
}

/// `rcu.table([buckets | name])`.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn table(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua. Every check and the handle's allocation may
    // raise, so they come first; the table is then made by Rust code that
    // leaves no value with a destructor behind before Lua is called again.
    unsafe {
        let (net, flags) = context(L);
        let name = if lua_type(L, 1) == LUA_TSTRING {
            let mut len = 0usize;
            let p = lua_tolstring(L, 1, &mut len);
            let Ok(name) = Name::new(core::slice::from_raw_parts(p.cast(), len)) else {
                luaL_argerror(L, 1, c"invalid rcu table name".as_ptr());
            };
            Some(name)
        } else {
            None
        };
        let buckets = match name {
            Some(_) => NAMED_BUCKETS,
            None => {
                let n = luaL_optinteger(L, 1, DEFAULT_BUCKETS as i64);
                if !(1..=MAX_BUCKETS as i64).contains(&n) {
                    luaL_argerror(L, 1, c"buckets out of range (1 to 65536)".as_ptr());
                }
                n as usize
            }
        };
        let slot = push_handle(L);
        // `make` leaves only plain data behind: a raw pointer or an error.
        match make(net, name, buckets, flags) {
            Ok(raw) => slot.write(raw),
            Err(MakeError::NoMemory) => luaL_error(L, c"not enough memory".as_ptr()),
            Err(MakeError::Quota(e)) => quota_error(L, e),
            Err(MakeError::Gone) => luaL_error(
                L,
                c"rcu tables unavailable: the namespace is going away".as_ptr(),
            ),
        }
    }
    1
}

/// `rcu.map(t, f)`: calls `f(key, value)` for each entry of a snapshot.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument or a memory error).
unsafe extern "C" fn map(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua. The snapshot is copied into a Lua userdata
    // inside closed RCU sections; `f` runs after, on the copy.
    unsafe {
        let t = check(L, 1);
        luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2);
        let mut want = t.snapshot(&mut []);
        let mut len = None;
        for _ in 0..8 {
            let buf = lua_newuserdatauv(L, want.max(1), 0).cast::<u8>();
            let out = core::slice::from_raw_parts_mut(buf, want);
            let need = t.snapshot(out);
            if need <= want {
                len = Some(need);
                break;
            }
            lua_pop(L, 1);
            // Room for growth while copying.
            want = need + need / 4;
        }
        let Some(len) = len else {
            luaL_error(L, c"rcu table changing too fast to map".as_ptr());
        };
        // The copy is work the entry's budget pays for, as Lua's own are.
        crate::lua::account::charge_bytes(L, len);
        // Slot 3 holds the snapshot; it stays there while `f` runs.
        let mut at = 0;
        while at < len {
            let buf = core::slice::from_raw_parts(lua_touserdata(L, 3).cast::<u8>(), len);
            let Some((key, value, next)) = Snapshot::get(buf, at) else {
                break;
            };
            lua_pushvalue(L, 2);
            lua_pushlstring(L, key.as_ptr().cast(), key.len());
            match value {
                Value::Bool(b) => lua_pushboolean(L, c_int::from(b)),
                Value::Int(i) => lua_pushinteger(L, i),
                Value::Str(s) => {
                    lua_pushlstring(L, s.as_ptr().cast(), s.len());
                }
            }
            lua_callk(L, 2, 0, 0, core::ptr::null());
            at = next;
        }
    }
    0
}

/// `require "rcu"`: the library table (and the handles' metatable).
///
/// # Safety
///
/// Called by Lua (it raises on memory errors).
pub(crate) unsafe extern "C" fn open(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this as a C function, in protected mode, with `L`
    // its running thread, so a memory error raises into that call and
    // skips no destructor (`meta` is an array of plain pairs); at most
    // three values are pushed at once, within LUA_MINSTACK.
    unsafe {
        if luaL_newmetatable(L, MT.as_ptr()) != 0 {
            let meta: [(&CStr, lua_CFunction); 4] = [
                (c"__index", index),
                (c"__newindex", newindex),
                (c"__gc", gc),
                (c"__tostring", tostring),
            ];
            for (name, f) in meta {
                lua_pushcclosure(L, f, 0);
                lua_setfield(L, -2, name.as_ptr());
            }
            lua_pushstring(L, MT.as_ptr());
            lua_setfield(L, -2, c"__metatable".as_ptr());
        }
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushcclosure(L, table, 0);
        lua_setfield(L, -2, c"table".as_ptr());
        lua_pushcclosure(L, map, 0);
        lua_setfield(L, -2, c"map".as_ptr());
    }
    1
}
