//! Host build of lunatik-rs's Lua: the same `luaconf.h`, patch and
//! `core`-only Rust files as the kernel module, on libc memory, so
//! `cargo test` checks integer semantics, the memory cap, the instruction
//! budget and the nesting limits in seconds.

#![allow(non_snake_case)]

// The Lua core at the path the module gives it (lua/mod.rs), so its
// files, and the `core`-only files of the libraries below, name each
// other alike in both builds.
#[path = "mod.rs"]
pub mod lua;
/// `data` at its path in the module, where luanetfilter/skb.rs finds it;
/// mounted as the folder, so that its own submodules (luadata/data/) are
/// found where the module finds them.
#[path = "../luadata"]
pub mod luadata {
    pub mod data;
}
pub use luadata::data;
/// `set` at its path in the module, with the host's stand-in for the
/// kernel's RNG where luaset/mod.rs has it.
#[path = "../luaset"]
pub mod luaset {
    pub mod index;
    pub mod set;
    pub mod storage;

    /// A random `u64` for a set's hash key: std's per-process random
    /// hasher keys, stirred with a counter.
    fn random() -> u64 {
        use std::hash::BuildHasher;
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNT: AtomicU64 = AtomicU64::new(0);
        std::collections::hash_map::RandomState::new()
            .hash_one(COUNT.fetch_add(1, Ordering::Relaxed))
    }
}
/// `rcu`'s hash where luaset/index.rs finds it.
pub mod luarcu {
    pub use super::siphash;
}
#[path = "../luarcu/quota.rs"]
pub mod quota;
#[path = "../states/ratelimit.rs"]
pub mod ratelimit;
#[path = "../luarcu/siphash.rs"]
pub mod siphash;
#[path = "../luanetfilter/skb.rs"]
pub mod skb;

// The short paths the tests and the bench use.
#[cfg(test)]
use lua::interp::require as interp_require;
pub use lua::{account, ffi, interp};

use account::{Account, RawAlloc};
use core::ffi::{c_int, c_void};
use ffi::lua_State;

/// Host memory for Lua: libc `realloc`/`free`.
pub struct LibcAlloc;

extern "C" {
    fn realloc(p: *mut c_void, n: usize) -> *mut c_void;
    fn free(p: *mut c_void);
}

impl RawAlloc for LibcAlloc {
    unsafe fn resize(ptr: *mut c_void, _old: usize, new: usize, _atomic: bool) -> *mut c_void {
        // SAFETY: `ptr` is null or came from realloc (trait contract).
        unsafe { realloc(ptr, new) }
    }

    unsafe fn free(ptr: *mut c_void, _old: usize) {
        // SAFETY: `ptr` came from realloc (trait contract).
        unsafe { free(ptr) }
    }
}

/// Host `print`: the kernel's line (`interp::print_line`), on standard output.
unsafe extern "C" fn print(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; print_line may raise and
    // nothing here has a destructor until it has returned.
    let line = unsafe { interp::print_line(L) };
    println!("{}", String::from_utf8_lossy(line));
    0
}

/// Nanoseconds since the first call: the host's monotonic clock for
/// entry deadlines and timings.
fn host_clock() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let ns = START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos();
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// The host's libraries beyond the Lua core's: the `core`-only ones.
#[cfg(not(test))]
static LIBRARIES: &[interp::Library] = &[(c"data", data::OPEN), (c"set", luaset::set::OPEN)];
/// The tests add a library written against the safe handle.
#[cfg(test)]
static LIBRARIES: &[interp::Library] = &[
    (c"data", data::OPEN),
    (c"set", luaset::set::OPEN),
    (c"handletest", lua_tests::open),
];

/// The host's `require`: its libraries and, for script files, [`FILES`].
struct HostModules(&'static [interp::Library]);

impl interp::Modules for HostModules {
    fn find(&self, name: &[u8]) -> Option<ffi::lua_CFunction> {
        self.0.find(name)
    }

    fn files(&self) -> Option<ffi::lua_CFunction> {
        Some(load_file)
    }
}

static MODULES: HostModules = HostModules(LIBRARIES);

/// The script files host states `require`, by path relative to
/// `/lib/modules/lua`: what the tests of `require` load.
pub static FILES: &[(&str, &[u8])] = &[
    (
        "mod/a.lua",
        b"local name, path = ...\nreturn { name = name, path = path, n = 1 }",
    ),
    ("pkg/init.lua", b"return 'pkg from init.lua'"),
    ("pkg.lua", b"return 'pkg from pkg.lua'"),
    ("noreturn.lua", b"counter = (counter or 0) + 1"),
    ("selfset.lua", b"package.loaded[...] = 'set by the chunk'"),
    ("broken.lua", b"return {"),
    ("fails.lua", b"error('fails on load')"),
    (
        "needs.lua",
        b"local s = require('string'); return s.rep('x', 3)",
    ),
    // The Lua modules `make install` puts under /lib/modules/lua (lib/).
    ("net.lua", include_bytes!("../lib/net.lua")),
    ("struct.lua", include_bytes!("../lib/struct.lua")),
    // A precompiled chunk's signature, "\27Lua": refused as bytecode.
    ("binary.lua", b"\x1bLua\x55\x00"),
];

/// The host's loader of script files (`interp::Modules::files`): the chunk
/// of `FILES[path]`, compiled as text, or nothing.
unsafe extern "C" fn load_file(L: *mut lua_State) -> c_int {
    // SAFETY: called by `require` in protected mode; the errors raised
    // here leave nothing with a destructor behind.
    unsafe {
        let mut len = 0;
        let p = ffi::luaL_checklstring(L, 1, &mut len);
        let path = core::slice::from_raw_parts(p.cast::<u8>(), len);
        let Some((_, text)) = FILES.iter().find(|(n, _)| n.as_bytes() == path) else {
            return 0;
        };
        let status = ffi::luaL_loadbufferx(
            L,
            text.as_ptr().cast(),
            text.len(),
            c"=file".as_ptr(),
            c"t".as_ptr(),
        );
        if status != ffi::LUA_OK {
            ffi::lua_error(L);
        }
        1
    }
}

/// A host interpreter with a memory cap and an instruction budget.
pub struct State {
    L: *mut lua_State,
    account: Box<Account>,
}

impl State {
    /// A state with the standard libraries; `memory` and `budget` of 0 mean
    /// no limit.
    pub fn new(memory: usize, budget: u64) -> Result<Self, String> {
        let mut account = Box::new(Account {
            limit: memory,
            budget,
            clock: Some(host_clock),
            // Sanitizers make every frame several times larger: the same
            // scripts need several times the C stack.
            cstack_budget: if cfg!(lunatik_sanitize) { 64 << 10 } else { 0 },
            cstack_reserve: if cfg!(lunatik_sanitize) { 32 << 10 } else { 0 },
            ..Account::default()
        });
        // SAFETY: the boxed account does not move and outlives the state
        // (closed in Drop before the box is freed).
        let L = unsafe { interp::new_state::<LibcAlloc>(&mut *account, 0x5eed) };
        if L.is_null() {
            return Err("not enough memory".into());
        }
        let state = State { L, account };
        // SAFETY: a fresh, idle state.
        match unsafe { interp::open_libs(state.L, 42, print, &MODULES) } {
            Ok(()) => Ok(state),
            // SAFETY: the call just failed; its message is on top.
            Err(_) => {
                Err(String::from_utf8_lossy(unsafe { interp::error_message(state.L) }).into_owned())
            }
        }
    }

    /// Runs `src`, returning its results as strings, or the error text.
    pub fn run(&mut self, src: &str) -> Result<Vec<String>, String> {
        // SAFETY: `self` owns the idle state; `&mut self` makes it exclusive.
        unsafe {
            match interp::run(self.L, src.as_bytes(), c"=test") {
                Ok(()) => Ok(interp::results(self.L)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()),
                Err(_) => Err(String::from_utf8_lossy(interp::error_message(self.L)).into_owned()),
            }
        }
    }

    /// Runs `src` and returns its single result.
    pub fn eval(&mut self, src: &str) -> Result<String, String> {
        self.run(src).map(|mut v| {
            if v.is_empty() {
                String::new()
            } else {
                v.remove(0)
            }
        })
    }

    /// Calls the global function `func` with `args`; `f` sees its results.
    pub fn call<R>(
        &mut self,
        func: &core::ffi::CStr,
        args: &[interp::Arg<'_>],
        f: impl FnOnce(&[interp::Value<'_>]) -> R,
    ) -> Result<R, String> {
        self.call_callee(interp::Callee::Global(func), args, f)
    }

    /// Keeps the global function `name` among the state's callbacks
    /// (`interp::store_callback`) and returns its id, to call it as the kernel
    /// calls a hook (`interp::Callee::Callback`).
    pub fn store_global(&mut self, name: &core::ffi::CStr) -> Result<i64, String> {
        /// Stores the global named by the light userdata 1, returns its id.
        unsafe extern "C" fn store(L: *mut lua_State) -> c_int {
            // SAFETY: called by lua_pcall below with the name as light
            // userdata 1; these may raise, caught by that pcall, and
            // nothing here has a destructor.
            unsafe {
                let name = ffi::lua_touserdata(L, 1).cast::<core::ffi::c_char>();
                ffi::lua_getglobal(L, name);
                ffi::luaL_checktype(L, -1, ffi::LUA_TFUNCTION);
                let id = interp::store_callback(L, ffi::lua_gettop(L));
                ffi::lua_pushinteger(L, id);
            }
            1
        }
        // SAFETY: `self` owns the idle state; the entry is bounded like any
        // other, and `name` outlives the protected call that reads it.
        unsafe {
            ffi::lua_settop(self.L, 0);
            account::begin_entry(self.L);
            ffi::lua_pushcclosure(self.L, store, 0);
            ffi::lua_pushlightuserdata(self.L, name.as_ptr().cast_mut().cast());
            let status = ffi::lua_pcall(self.L, 1, 1, 0);
            account::end_entry(self.L);
            let r = if status == ffi::LUA_OK {
                Ok(ffi::lua_tointegerx(self.L, -1, core::ptr::null_mut()))
            } else {
                Err(format!("no function {name:?}"))
            };
            ffi::lua_settop(self.L, 0);
            r
        }
    }

    /// Whether the registry holds a function under `key`
    /// (`interp::Callee::Slot`).
    pub fn holds_slot(&mut self, key: &'static u8) -> bool {
        // SAFETY: `self` owns the idle state.
        unsafe { interp::slot_holds_function(self.L, key) }
    }

    /// Calls `callee` with `args`; `f` sees its results.
    pub fn call_callee<R>(
        &mut self,
        callee: interp::Callee<'_>,
        args: &[interp::Arg<'_>],
        f: impl FnOnce(&[interp::Value<'_>]) -> R,
    ) -> Result<R, String> {
        // SAFETY: `self` owns the idle state; the values borrowed from its
        // stack are used before the next call touches it.
        unsafe {
            match interp::call(self.L, callee, args) {
                Ok(()) => {
                    let values: Vec<interp::Value<'_>> = (0..interp::result_count(self.L))
                        .map(|n| interp::value_at(self.L, n))
                        .collect();
                    Ok(f(&values))
                }
                Err(_) => Err(String::from_utf8_lossy(interp::error_message(self.L)).into_owned()),
            }
        }
    }

    /// The state's accounting.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Gives every later entry a wall-clock deadline of `ns` nanoseconds
    /// (0 for none), as the kernel gives softirq states.
    pub fn set_time_limit(&mut self, ns: u64) {
        self.account.time_limit_ns = ns;
    }

    /// A full garbage collection.
    pub fn collect(&mut self) {
        // SAFETY: the state is idle.
        unsafe {
            ffi::lua_settop(self.L, 0);
            interp::collect(self.L)
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: the state is idle and never used again.
        unsafe { interp::close(self.L) };
    }
}

#[cfg(test)]
mod coroutine_tests;
#[cfg(test)]
#[path = "../luadata/tests.rs"]
mod data_tests;
#[cfg(test)]
mod examples_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod hardening_tests;
#[cfg(test)]
#[path = "../lib/tests.rs"]
mod lib_tests;
#[cfg(test)]
mod lua_tests;
#[cfg(test)]
mod ratelimit_tests;
#[cfg(test)]
#[path = "../luarcu/tests.rs"]
mod rcu_tests;
#[cfg(test)]
mod require_tests;
#[cfg(test)]
mod rewrite_tests;
#[cfg(all(test, lunatik_sanitize))]
mod sanitizer_tests;
#[cfg(test)]
#[path = "../luaset/tests.rs"]
mod set_tests;
#[cfg(test)]
mod tests;
