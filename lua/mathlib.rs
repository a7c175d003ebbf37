// SPDX-License-Identifier: GPL-2.0

//! The integer `math` library: `abs max min tointeger type ult maxinteger
//! mininteger random randomseed`. Lua's own math library is all floating
//! point, so the module carries this one instead.
//!
//! `core`-only. Every function is a `lua_CFunction` that may raise through
//! `luaL_*` argument checks: none holds a value with a destructor. All
//! arithmetic wraps or is checked, since Rust overflow checks are on in the
//! kernel and a panic there is a crash.

use crate::lua::ffi::*;
use core::ffi::c_int;

/// Registry key of the generator's state (a full userdata of 4 words).
static RNG_KEY: u8 = 0;

/// `abs(n)`: `n`'s absolute value (wrapping for `mininteger`).
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn abs(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the calling thread; the check raises on a non-integer.
    let n = unsafe { luaL_checkinteger(L, 1) };
    // SAFETY: `L` is the calling thread, with the LUA_MINSTACK room every
    // C function has; pushing an integer never raises.
    unsafe { lua_pushinteger(L, n.wrapping_abs()) };
    1
}

/// Shared body of `min` and `max`: keeps the argument `better` prefers.
///
/// # Safety
///
/// `L` is the running thread of a C function Lua called in protected mode
/// (this raises on a bad argument).
unsafe fn pick(L: *mut lua_State, better: fn(i64, i64) -> bool) -> c_int {
    // SAFETY: `L` is the calling thread.
    let n = unsafe { lua_gettop(L) };
    // SAFETY: `L` is the calling thread in a protected call (the
    // contract), so "number expected" on a missing argument is caught
    // there; nothing here has a destructor.
    let mut best = unsafe { luaL_checkinteger(L, 1) };
    for i in 2..=n {
        // SAFETY: `L` is the calling thread in a protected call, so a
        // failed check raises into it; `i` is at most the top.
        let v = unsafe { luaL_checkinteger(L, i) };
        if better(v, best) {
            best = v;
        }
    }
    // SAFETY: `L` is the calling thread, with the LUA_MINSTACK room every
    // C function has; pushing an integer never raises.
    unsafe { lua_pushinteger(L, best) };
    1
}

/// `max(n, ...)`: the largest argument.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn max(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a C function Lua called in
    // protected mode (the contract), which is what `pick` asks.
    unsafe { pick(L, |a, b| a > b) }
}

/// `min(n, ...)`: the smallest argument.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn min(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the running thread of a C function Lua called in
    // protected mode (the contract), which is what `pick` asks.
    unsafe { pick(L, |a, b| a < b) }
}

/// `tointeger(x)`: `x` as an integer if it converts to one, else nil.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn tointeger(L: *mut lua_State) -> c_int {
    let mut ok: c_int = 0;
    // SAFETY: `L` is the calling thread; lua_tointegerx never raises.
    let n = unsafe { lua_tointegerx(L, 1, &mut ok) };
    if ok != 0 {
        // SAFETY: `L` is the calling thread, with the LUA_MINSTACK room
        // every C function has; pushing an integer never raises.
        unsafe { lua_pushinteger(L, n) };
    } else {
        // SAFETY: `L` is the calling thread in a protected call, so the
        // check's error (only if the argument is absent) is caught there;
        // the push uses one slot of the LUA_MINSTACK room.
        unsafe {
            luaL_checkany(L, 1);
            lua_pushnil(L);
        }
    }
    1
}

/// `type(x)`: "integer" for a number, else nil.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn type_(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the calling thread.
    unsafe {
        if lua_type(L, 1) == LUA_TNUMBER {
            // Every number is an integer in this build.
            lua_pushstring(L, c"integer".as_ptr());
        } else {
            luaL_checkany(L, 1);
            lua_pushnil(L);
        }
    }
    1
}

/// `ult(m, n)`: whether `m < n` as unsigned integers.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread (it raises on a bad argument).
unsafe extern "C" fn ult(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the calling thread.
    unsafe {
        let a = luaL_checkinteger(L, 1) as u64;
        let b = luaL_checkinteger(L, 2) as u64;
        lua_pushboolean(L, c_int::from(a < b));
    }
    1
}

/// xoshiro256** state, seeded from the environment's RNG at open.
#[repr(C)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator expanded from `seed` with splitmix64 (never all zero).
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform value in `0..=n` (rejection sampling, no modulo bias).
    pub fn below_or_eq(&mut self, n: u64) -> u64 {
        if n == u64::MAX {
            return self.next_u64();
        }
        let bound = n + 1;
        let zone = u64::MAX - (u64::MAX % bound) - 1;
        loop {
            let r = self.next_u64();
            if r <= zone {
                return r % bound;
            }
        }
    }
}

/// The generator of the calling state.
///
/// # Safety
///
/// `L` is a thread of a state whose math library was opened by [`open`].
unsafe fn rng<'a>(L: *mut lua_State) -> &'a mut Rng {
    // SAFETY: `open` stored a userdata holding an Rng under RNG_KEY; the
    // registry keeps it alive as long as the state.
    unsafe {
        lua_rawgetp(L, LUA_REGISTRYINDEX, core::ptr::addr_of!(RNG_KEY).cast());
        let p = lua_touserdata(L, -1).cast::<Rng>();
        lua_pop(L, 1);
        &mut *p
    }
}

/// `random()`: 64 random bits; `random(m)`: in `[1, m]`; `random(m, n)`:
/// in `[m, n]`.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread of a state whose library was opened by [`open`] (it
/// raises on a bad argument).
unsafe extern "C" fn random(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the calling thread of a state opened by `open`.
    unsafe {
        let (lo, hi) = match lua_gettop(L) {
            0 => {
                let r = rng(L).next_u64();
                lua_pushinteger(L, r as i64);
                return 1;
            }
            1 => (1, luaL_checkinteger(L, 1)),
            2 => (luaL_checkinteger(L, 1), luaL_checkinteger(L, 2)),
            _ => luaL_error(L, c"wrong number of arguments".as_ptr()),
        };
        if lo > hi {
            luaL_argerror(L, lua_gettop(L), c"interval is empty".as_ptr());
        }
        let span = (hi as u64).wrapping_sub(lo as u64);
        let r = rng(L).below_or_eq(span);
        lua_pushinteger(L, (lo as u64).wrapping_add(r) as i64);
    }
    1
}

/// `randomseed(n)`: restarts the generator from `n`, for reproducible runs.
///
/// # Safety
///
/// Lua calls this as a C function, in protected mode, with `L` its
/// running thread of a state whose library was opened by [`open`] (it
/// raises on a bad argument).
unsafe extern "C" fn randomseed(L: *mut lua_State) -> c_int {
    // SAFETY: `L` is the calling thread of a state opened by `open`.
    unsafe {
        let seed = luaL_checkinteger(L, 1);
        *rng(L) = Rng::new(seed as u64);
    }
    0
}

const FUNCTIONS: &[(&core::ffi::CStr, lua_CFunction)] = &[
    (c"abs", abs),
    (c"max", max),
    (c"min", min),
    (c"tointeger", tointeger),
    (c"type", type_),
    (c"ult", ult),
    (c"random", random),
    (c"randomseed", randomseed),
];

/// Opens the library as the global `math`, its generator seeded with `seed`.
///
/// # Safety
///
/// `L` is a valid state, inside a protected call: this raises on memory
/// errors.
pub unsafe fn open(L: *mut lua_State, seed: u64) {
    // SAFETY: `L` is valid and in a protected call (the contract), so a
    // memory error is caught and no destructor is skipped (`Rng` has
    // none); the fresh block is `size_of::<Rng>()` bytes, aligned for it
    // (Lua aligns blocks to 8), and written before the registry keeps it
    // under RNG_KEY for the state's life, which is what `rng` relies on.
    // At most three values are on the stack at once.
    unsafe {
        let p = lua_newuserdatauv(L, core::mem::size_of::<Rng>(), 0).cast::<Rng>();
        p.write(Rng::new(seed));
        lua_rawsetp(L, LUA_REGISTRYINDEX, core::ptr::addr_of!(RNG_KEY).cast());

        lua_createtable(L, 0, FUNCTIONS.len() as c_int + 2);
        for (name, f) in FUNCTIONS {
            lua_pushcclosure(L, *f, 0);
            lua_setfield(L, -2, name.as_ptr());
        }
        lua_pushinteger(L, i64::MAX);
        lua_setfield(L, -2, c"maxinteger".as_ptr());
        lua_pushinteger(L, i64::MIN);
        lua_setfield(L, -2, c"mininteger".as_ptr());
        lua_setglobal(L, c"math".as_ptr());
    }
}
