// SPDX-License-Identifier: GPL-2.0

//! `require` (docs/libraries.md, "require"): `package.loaded`, the
//! standard libraries by name, the libraries the caller lists
//! ([`Modules`]) and script files along upstream Lunatik's search path,
//! which the caller's loader ([`Modules::files`]) reads and compiles.
//! This file decides which names may become paths and which paths are
//! tried; it never touches a file.
//!
//! `core`-only. Every function here that calls Lua is a `lua_CFunction`
//! called in protected mode, or runs inside one, and holds no value with a
//! destructor.

use crate::lua::byteorder;
use crate::lua::ffi::*;
use core::ffi::{c_int, CStr};

/// `lua_upvalueindex(1)`.
const UPVALUE1: c_int = LUA_REGISTRYINDEX - 1;

/// A library `require` finds by name: its name and its opener, which
/// returns the library's value.
pub type Library = (&'static CStr, lua_CFunction);

/// Where `require` looks for the libraries this file does not have: the
/// kernel's registry of libraries (states/library.rs), or a plain list.
/// The interpreter receives it; it never names a library of its own beyond
/// [`BUILTIN`].
pub trait Modules: Sync + 'static {
    /// The opener of the library called `name`, if there is one.
    fn find(&self, name: &[u8]) -> Option<lua_CFunction>;

    /// The loader of script files (lua/interp/require.rs): a `lua_CFunction`
    /// called with a path relative to `/lib/modules/lua` (such as
    /// `"a/b.lua"`) that returns the compiled chunk, or nothing when there
    /// is no such file, and raises for any other failure. `None` (the
    /// default): `require` finds no files.
    fn files(&self) -> Option<lua_CFunction> {
        None
    }
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

/// Where `require` and `lunatik run` find scripts (upstream Lunatik's
/// `LUA_ROOT`).
pub const SCRIPT_ROOT: &CStr = c"/lib/modules/lua/";
/// `package.path`: upstream Lunatik's search path, the one `require`
/// follows (a script changing it changes nothing).
pub const SEARCH_PATH: &CStr = c"/lib/modules/lua/?.lua;/lib/modules/lua/?/init.lua";
/// The file names tried for a module, in order: `?` of [`SEARCH_PATH`].
const SUFFIXES: [&[u8]; 2] = [b".lua", b"/init.lua"];
/// Longest module name `require` looks for as a file.
pub const MODULE_NAME_MAX: usize = 200;
/// Longest relative path [`script_path`] makes, with its NUL.
pub const SCRIPT_PATH_MAX: usize = MODULE_NAME_MAX + 10;
/// `_LUNATIK_VERSION`, and `lunatik.version` in the kernel.
pub const VERSION: &CStr = c"lunatik-rs 0.1.0 (Lua 5.5)";

/// The standard libraries, found by `require` under their names as in
/// stock Lua (the globals [`open_protected`] made, as the sandbox keeps
/// them).
const STANDARD: [&CStr; 7] = [
    c"_G",
    c"coroutine",
    c"table",
    c"string",
    c"utf8",
    c"math",
    c"debug",
];

/// Whether `name` may name a script file: words of `[A-Za-z0-9_-]`
/// separated by single dots, at most [`MODULE_NAME_MAX`] bytes. Its path
/// then has no empty, `.` or `..` component and is never absolute: a
/// module name cannot leave [`SCRIPT_ROOT`] (the kernel's lookup also
/// refuses symlinks that lead out of it).
pub fn valid_module_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MODULE_NAME_MAX
        && name.split(|&b| b == b'.').all(|word| {
            !word.is_empty()
                && word
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// The path, relative to [`SCRIPT_ROOT`] and NUL-terminated in `buf`, of
/// candidate `n` (0 or 1, as in [`SEARCH_PATH`]) for module `name`: dots
/// become slashes, then `.lua` or `/init.lua`. Its length without the NUL,
/// or `None` for an invalid name or candidate.
pub fn script_path(name: &[u8], n: usize, buf: &mut [u8; SCRIPT_PATH_MAX]) -> Option<usize> {
    let suffix = SUFFIXES.get(n)?;
    if !valid_module_name(name) {
        return None;
    }
    let stem = name.len();
    let len = stem + suffix.len();
    for (d, &b) in buf.iter_mut().zip(name) {
        *d = if b == b'.' { b'/' } else { b };
    }
    buf[stem..len].copy_from_slice(suffix);
    buf[len] = 0;
    Some(len)
}

/// `require(name)`: `package.loaded[name]` if set; else a standard or
/// built-in library, opened on first use; else a script file from
/// [`SEARCH_PATH`], compiled as text in this state and run with `name`
/// and its path, as stock Lua's file searcher does. Returns the module
/// and, for a file, its path.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread, as the closure [`open`] made (upvalue 1 is a light
/// userdata pointing to a `&'static M`).
pub(crate) unsafe extern "C" fn require<M: Modules>(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; the checks, the table
    // accesses, the openers and the loader may raise; nothing here has a
    // destructor (`buf` is plain bytes).
    unsafe {
        let mut len = 0usize;
        let name = luaL_checklstring(L, 1, &mut len);
        lua_settop(L, 1);
        if lua_rawgetp(L, LUA_REGISTRYINDEX, (&raw const LOADED).cast()) != LUA_TTABLE {
            lua_pop(L, 1);
            open_package(L);
        }
        lua_pushvalue(L, 1);
        if lua_rawget(L, 2) != LUA_TNIL {
            return 1;
        }
        lua_pop(L, 1);
        // The libraries are Rust statics: `open_libs` passes them as a
        // light userdata pointing to a `&'static M`.
        let libs = &*lua_touserdata(L, UPVALUE1).cast::<M>();
        let wanted = core::slice::from_raw_parts(name.cast::<u8>(), len);
        if let Some(open) = BUILTIN.find(wanted).or_else(|| libs.find(wanted)) {
            lua_pushcclosure(L, open, 0);
            lua_pushvalue(L, 1);
            lua_callk(L, 1, 1, 0, core::ptr::null());
            return store_loaded(L, 1);
        }
        let Some(files) = libs.files() else {
            luaL_error(L, c"module '%s' not found".as_ptr(), name);
        };
        if !valid_module_name(wanted) {
            luaL_error(
                L,
                c"module '%s' not found: a file module's name is words of letters, digits, '_' and '-' separated by dots".as_ptr(),
                name,
            );
        }
        let mut buf = [0u8; SCRIPT_PATH_MAX];
        for n in 0..SUFFIXES.len() {
            lua_settop(L, 2);
            let Some(plen) = script_path(wanted, n, &mut buf) else {
                break;
            };
            // Slots: 3 the relative path, 4 the chunk (or nil), 5 its
            // full path, 6 what it returned.
            lua_pushlstring(L, buf.as_ptr().cast(), plen);
            lua_pushcclosure(L, files, 0);
            lua_pushvalue(L, 3);
            lua_callk(L, 1, 1, 0, core::ptr::null());
            if lua_type(L, 4) != LUA_TFUNCTION {
                continue;
            }
            lua_pushfstring(
                L,
                c"%s%s".as_ptr(),
                SCRIPT_ROOT.as_ptr(),
                lua_tolstring(L, 3, core::ptr::null_mut()),
            );
            lua_pushvalue(L, 4);
            lua_pushvalue(L, 1);
            lua_pushvalue(L, 5);
            lua_callk(L, 2, 1, 0, core::ptr::null());
            // The chunk may have set package.loaded[name] itself; a value
            // it returns wins, as in stock Lua.
            if lua_type(L, 6) == LUA_TNIL {
                lua_pop(L, 1);
                lua_pushvalue(L, 1);
                lua_rawget(L, 2);
            }
            store_loaded(L, 1);
            lua_pushvalue(L, 5);
            return 2;
        }
        let stem = wanted.len();
        script_path(wanted, 0, &mut buf);
        buf[stem] = 0;
        luaL_error(
            L,
            c"module '%s' not found:\n\tno file '%s%s.lua'\n\tno file '%s%s/init.lua'".as_ptr(),
            name,
            SCRIPT_ROOT.as_ptr(),
            buf.as_ptr(),
            SCRIPT_ROOT.as_ptr(),
            buf.as_ptr(),
        );
    }
}

/// Stores the value on top as `package.loaded[name]` (`true` for nil)
/// and returns 1 with that value on top: the end of [`require`], whose
/// name is at `name` and loaded table at 2.
///
/// # Safety
///
/// Inside [`require`]: may raise; nothing on the caller's side has a
/// destructor.
unsafe fn store_loaded(L: *mut lua_State, name: c_int) -> c_int {
    // SAFETY: called only from [`require`] (the contract), a C function Lua
    // runs in protected mode, so a memory error in rawset is caught there
    // and skips no destructor; slot 2 holds the loaded table and `name` a
    // live slot, and the two copies fit in the LUA_MINSTACK room, since
    // `require` keeps at most six values.
    unsafe {
        if lua_type(L, -1) == LUA_TNIL {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, name);
        lua_pushvalue(L, -2);
        lua_rawset(L, 2);
    }
    1
}

/// Registry key (its address) of the table of loaded libraries, which
/// scripts also see as `package.loaded`.
static LOADED: u8 = 0;

/// Makes `package` (`loaded`, `path`) and the table of loaded libraries
/// holding the standard ones (globals by then), and leaves the latter on
/// the stack. Called by the first [`require`]: an idle state that never
/// requires anything does not pay for them (docs/libraries.md,
/// "require").
///
/// # Safety
///
/// Inside [`require`] (this may raise; nothing on the caller's side has a
/// destructor).
unsafe fn open_package(L: *mut lua_State) {
    // SAFETY: called only from [`require`] (the contract), a C function Lua
    // runs in protected mode, so any raise (memory, a global's metamethod)
    // is caught there and skips no destructor; with the argument below,
    // at most four values are pushed, well within LUA_MINSTACK.
    unsafe {
        lua_createtable(L, 0, STANDARD.len() as c_int + 1);
        for name in STANDARD {
            lua_getglobal(L, name.as_ptr());
            lua_setfield(L, -2, name.as_ptr());
        }
        // A script may have replaced or removed the global `package`
        // before its first require; the table of loaded libraries is the
        // registry's either way.
        lua_createtable(L, 0, 2);
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, c"loaded".as_ptr());
        lua_pushstring(L, SEARCH_PATH.as_ptr());
        lua_setfield(L, -2, c"path".as_ptr());
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, c"package".as_ptr());
        lua_setglobal(L, c"package".as_ptr());
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, (&raw const LOADED).cast());
    }
}

/// Makes the global `require` over `modules` and `_LUNATIK_VERSION`;
/// `package` follows with the first `require`.
///
/// # Safety
///
/// Inside the sandbox's protected opening, after the standard libraries
/// (this may raise); `modules` outlives the state.
pub(crate) unsafe fn open<M: Modules>(L: *mut lua_State, modules: &'static M) {
    // SAFETY: in the sandbox's protected opening (the contract), so a
    // memory error is caught there and skips no destructor; `modules` is
    // `'static`, so the light userdata `require` reads as upvalue 1 stays
    // valid for the state's life; at most two values are pushed at once.
    unsafe {
        lua_pushlightuserdata(L, (modules as *const M).cast_mut().cast());
        lua_pushcclosure(L, require::<M>, 1);
        lua_setglobal(L, c"require".as_ptr());
        lua_pushstring(L, VERSION.as_ptr());
        lua_setglobal(L, c"_LUNATIK_VERSION".as_ptr());
    }
}
