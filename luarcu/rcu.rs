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
//!   one (a [`Handle`], whose `__gc` lets it go), and the namespace's
//!   index of named tables holds one for each name until the namespace
//!   goes away (or the module is unloaded).
//!
//! Written against the safe handle (lua/handle.rs): no `unsafe` here.
//!
//! Memory: every table counts against the quota of its network namespace
//! (luarcu/quota.rs, luarcu/space.rs): bytes (entries, headers, bucket
//! arrays, the index of names) and tables. Past it a write or a new table
//! raises "rcu quota exceeded", and nothing changes. This memory belongs
//! to the namespace, not to a state's memory cap, as tables outlive and
//! are shared by states.

use crate::lua::ffi::{lua_CFunction, LUA_TBOOLEAN, LUA_TFUNCTION, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING};
use crate::lua::{Class, Lua};
use crate::lua_fn;
use crate::luarcu::quota::{Exceeded, LIMITS};
use crate::luarcu::space::{Space, NAMED_BUCKETS};
use crate::luarcu::table::{
    Entry, MakeError, Snapshot, Table, Value, WriteError, KEY_MAX, MAX_BUCKETS, VALUE_MAX,
};
use crate::states::library::Library;
use crate::uapi::name::{Name, NAME_MAX};
use core::cell::OnceCell;
use core::ffi::c_int;
use core::marker::PhantomData;
use kernel::alloc::Flags;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The `rcu` library: its Lua module, the module-wide tree of the
/// namespaces' spaces, and each namespace's space (with its named tables).
pub(crate) static LIBRARY: Library = Library {
    init: Some(crate::luarcu::space::init),
    exit: Some(crate::luarcu::space::exit),
    net_init: Some(crate::luarcu::space::net_init),
    net_exit: Some(crate::luarcu::space::net_exit),
    ..Library::new("rcu", &[(c"rcu", lua_fn!(open))])
};

/// Buckets of an anonymous table made without a count.
const DEFAULT_BUCKETS: usize = NAMED_BUCKETS;

/// What a Lua handle of a table holds: its reference to the table, set
/// once the table is made (the handle is made first, see [`table`]) and
/// taken by `__gc`, so a handle a finalizer brings back holds none.
#[derive(Default)]
struct Handle {
    table: OnceCell<Arc<Table>>,
}

/// The handles' class: `t[k]`, `t[k] = v`, `tostring(t)`, and the `__gc`
/// that lets the table go.
static HANDLES: Class<Handle> = Class {
    name: c"rcu.table",
    methods: &[],
    metamethods: &[
        (c"__index", lua_fn!(index)),
        (c"__newindex", lua_fn!(newindex)),
        (c"__gc", Class::<Handle>::FINALIZER),
        (c"__tostring", lua_fn!(tostring)),
    ],
    _values: PhantomData,
};

/// Makes the table `rcu.table` asked for. Every other value with a
/// destructor (the space) is dropped before this returns.
fn make(
    net: crate::glue::net::NetRef,
    name: Option<Name>,
    buckets: usize,
    flags: Flags,
) -> Result<Arc<Table>, MakeError> {
    let space = Space::of(net).ok_or(MakeError::Gone)?;
    match name {
        Some(name) => space.named(name, flags),
        None => Table::new(buckets, None, space.pool(), flags),
    }
}

/// Raises the error of a quota crossed.
fn quota_error(lua: &mut Lua<'_>, e: Exceeded) -> ! {
    // The limits fit an integer.
    match e {
        Exceeded::Bytes => lua.error_with_integer(
            c"rcu quota exceeded: %I bytes per namespace",
            LIMITS.bytes as i64,
        ),
        Exceeded::Tables => lua.error_with_integer(
            c"rcu quota exceeded: %I tables per namespace",
            LIMITS.tables as i64,
        ),
    }
}

/// Whether the replica running `lua` must allocate atomically.
fn flags(lua: &Lua<'_>) -> Flags {
    let (_, context) = crate::states::replica::lua_context(lua);
    context.flags()
}

/// The table of the handle at argument 1.
fn this<'a>(lua: &mut Lua<'a>) -> &'a Table {
    match HANDLES.check(lua, 1).table.get() {
        Some(table) => table,
        None => lua.arg_error(1, c"rcu table not made"),
    }
}

/// The key at argument 2.
fn check_key<'a>(lua: &mut Lua<'a>) -> &'a [u8] {
    if lua.type_of(2) != LUA_TSTRING {
        lua.arg_error(2, c"rcu keys are strings");
    }
    // A string: neither converted nor copied.
    let key = lua.check_bytes(2);
    if key.len() > KEY_MAX {
        lua.arg_error(2, c"rcu key longer than 255 bytes");
    }
    key
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

/// `t[k]`. Lua is called only between the table reads, each a closed RCU
/// section holding no Lua call, so no RCU section is live when something
/// raises.
fn index(lua: &mut Lua<'_>) -> c_int {
    let t = this(lua);
    let key = check_key(lua);
    let mut want = match t.read(key, found) {
        Found::Nil => {
            lua.push_nil();
            return 1;
        }
        Found::Bool(b) => {
            lua.push_bool(b);
            return 1;
        }
        Found::Int(i) => {
            lua.push_integer(i);
            return 1;
        }
        Found::Str(n) => n,
    };
    // A writer may change the value between the reads; each retry
    // sizes the buffer for what it saw last.
    for _ in 0..8 {
        let buf = lua.push_buffer(want.max(1));
        let cap = want;
        let got = t.read(key, |e| match e.map(Entry::value) {
            Some(Value::Str(s)) if s.len() <= cap => {
                buf[..s.len()].copy_from_slice(s);
                Ok(s.len())
            }
            other => Err(other.map(|v| match v {
                Value::Bool(b) => Found::Bool(b),
                Value::Int(i) => Found::Int(i),
                Value::Str(s) => Found::Str(s.len()),
            })),
        });
        match got {
            Ok(n) => lua.push_bytes(&buf[..n]),
            Err(None) => lua.push_nil(),
            Err(Some(Found::Bool(b))) => lua.push_bool(b),
            Err(Some(Found::Int(i))) => lua.push_integer(i),
            Err(Some(Found::Str(n))) => {
                lua.pop_buffer(buf);
                want = n;
                continue;
            }
            Err(Some(Found::Nil)) => lua.push_nil(),
        }
        return 1;
    }
    lua.error(c"rcu value changing too fast to read")
}

/// `t[k] = v`. The checks raise before the write, and the write's outcome
/// is raised after it, when no lock or RCU section is held and the
/// strings are still on the stack.
fn newindex(lua: &mut Lua<'_>) -> c_int {
    let t = this(lua);
    let key = check_key(lua);
    let value = match lua.type_of(3) {
        LUA_TNIL => None,
        LUA_TBOOLEAN => Some(Value::Bool(lua.opt_bool(3))),
        LUA_TNUMBER => Some(Value::Int(lua.check_integer(3))),
        LUA_TSTRING => {
            let s = lua.check_bytes(3);
            if s.len() > VALUE_MAX {
                lua.arg_error(3, c"rcu value longer than 65536 bytes");
            }
            Some(Value::Str(s))
        }
        _ => lua.arg_error(3, c"rcu values are booleans, integers or strings"),
    };
    match t.write(key, value, flags(lua)) {
        Ok(()) => {}
        Err(WriteError::NoMemory) => lua.error(c"not enough memory"),
        Err(WriteError::Quota(e)) => quota_error(lua, e),
    }
    0
}

/// What `tostring` of a handle says before the table's name.
const PREFIX: &[u8] = b"rcu.table ";

/// `tostring(t)`: "rcu.table" and the table's name, never an address.
fn tostring(lua: &mut Lua<'_>) -> c_int {
    let t = this(lua);
    match &t.name {
        Some(n) => {
            let n = n.as_bytes();
            let mut s = [0u8; PREFIX.len() + NAME_MAX];
            s[..PREFIX.len()].copy_from_slice(PREFIX);
            s[PREFIX.len()..PREFIX.len() + n.len()].copy_from_slice(n);
            lua.push_bytes(&s[..PREFIX.len() + n.len()]);
        }
        None => lua.push_bytes(HANDLES.name.to_bytes()),
    }
    1
}

/// `rcu.table([buckets | name])`. Every check and the handle's allocation
/// may raise, so they come first; the table is then made by Rust code
/// that leaves no value with a destructor behind but in the handle
/// before Lua may raise again.
fn table(lua: &mut Lua<'_>) -> c_int {
    let (net, context) = crate::states::replica::lua_context(lua);
    let name = if lua.type_of(1) == LUA_TSTRING {
        let Ok(name) = Name::new(lua.check_bytes(1)) else {
            lua.arg_error(1, c"invalid rcu table name");
        };
        Some(name)
    } else {
        None
    };
    let buckets = match name {
        Some(_) => NAMED_BUCKETS,
        None => {
            let n = lua.opt_integer(1, DEFAULT_BUCKETS as i64);
            if !(1..=MAX_BUCKETS as i64).contains(&n) {
                lua.arg_error(1, c"buckets out of range (1 to 65536)");
            }
            n as usize
        }
    };
    let handle = HANDLES.push_default(lua, 0);
    // The result is consumed here: an error is plain data.
    let error = match make(net, name, buckets, context.flags()) {
        Ok(table) => {
            // The handle is new, so its cell is empty and takes the table.
            let _ = handle.table.set(table);
            return 1;
        }
        Err(e) => e,
    };
    match error {
        MakeError::NoMemory => lua.error(c"not enough memory"),
        MakeError::Quota(e) => quota_error(lua, e),
        MakeError::Gone => lua.error(c"rcu tables unavailable: the namespace is going away"),
    }
}

/// `rcu.map(t, f)`: calls `f(key, value)` for each entry of a snapshot.
/// The snapshot is copied into a Lua buffer inside closed RCU sections;
/// `f` runs after, on the copy, which stays on the stack while it runs.
fn map(lua: &mut Lua<'_>) -> c_int {
    let t = this(lua);
    lua.check_type(2, LUA_TFUNCTION);
    let mut want = t.snapshot(&mut []);
    let mut snapshot = None;
    for _ in 0..8 {
        let buf = lua.push_buffer(want.max(1));
        let need = t.snapshot(&mut buf[..want]);
        if need <= want {
            snapshot = Some(&buf[..need]);
            break;
        }
        lua.pop_buffer(buf);
        // Room for growth while copying.
        want = need + need / 4;
    }
    let Some(snapshot) = snapshot else {
        lua.error(c"rcu table changing too fast to map");
    };
    // The copy is work the entry's budget pays for, as Lua's own are.
    lua.charge_bytes(snapshot.len());
    let mut at = 0;
    while at < snapshot.len() {
        let Some((key, value, next)) = Snapshot::get(snapshot, at) else {
            break;
        };
        lua.push_arg(2);
        lua.push_bytes(key);
        match value {
            Value::Bool(b) => lua.push_bool(b),
            Value::Int(i) => lua.push_integer(i),
            Value::Str(s) => lua.push_bytes(s),
        }
        lua.call(2, 0);
        at = next;
    }
    0
}

/// `require "rcu"`: the library table.
fn open(lua: &mut Lua<'_>) -> c_int {
    let functions: [(&core::ffi::CStr, lua_CFunction); 2] =
        [(c"table", lua_fn!(table)), (c"map", lua_fn!(map))];
    lua.push_table(functions.len());
    lua.set_functions(&functions);
    1
}
