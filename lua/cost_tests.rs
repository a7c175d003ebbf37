//! Host test of the cost model (docs/states.md, "The cost model"): every
//! C function a script can reach, found by walking a fresh state, not
//! listed by hand, is called in a loop with large arguments of every
//! kind under a deadline, and each entry must end within the deadline
//! plus one check interval. A C function that does work the model does
//! not charge lets the loop run far past its deadline, since the clock is
//! read only every `BUDGET_GRANULE` (lua/account.rs) instructions or units of work; the
//! test then fails and names it. Its negative control, run every time, is
//! a test-only C function doing uncharged work (`costtest.uncharged`),
//! which the same probe must flag by name.
//!
//! Time is the thread's CPU time (the account's clock, for the deadline,
//! and the test's, for the entry), so a busy host that takes the CPU away
//! neither stops an entry early nor makes it look long.

use super::hardening_tests::within;
use super::State;
use crate::ffi::*;
use crate::interp::Arg;
use core::ffi::c_int;

extern "C" {
    fn lua_iscfunction(L: *mut lua_State, idx: c_int) -> c_int;
    fn clock_gettime(clock: c_int, ts: *mut [i64; 2]) -> c_int;
}

/// `CLOCK_THREAD_CPUTIME_ID` of Linux.
const THREAD_CPU: c_int = 3;

/// The CPU time of the calling thread, in nanoseconds.
fn cpu_clock() -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: `ts` is a `struct timespec` (two 64-bit fields on the
    // 64-bit hosts this test runs on).
    unsafe { clock_gettime(THREAD_CPU, &mut ts) };
    (ts[0] as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts[1] as u64)
}

/// `costtest.uncharged(s)`: a byte sum over `s`, work proportional to its
/// length that charges nothing: what a C function added without a charge
/// does. The negative control.
unsafe extern "C" fn uncharged(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this in protected mode; luaL_checklstring may
    // raise and nothing here has a destructor. The bytes stay valid while
    // the string is argument 1.
    unsafe {
        let mut len = 0usize;
        let p = luaL_checklstring(L, 1, &mut len);
        let s = core::slice::from_raw_parts(p.cast::<u8>(), len);
        let mut sum = 0u64;
        for &b in s {
            sum = core::hint::black_box(sum.wrapping_mul(31).wrapping_add(u64::from(b)));
        }
        lua_pushinteger(L, sum as i64);
    }
    1
}

/// `costtest.iscfunction(v)`: whether `v` is a C function (scripts have
/// no `debug.getinfo` to tell).
unsafe extern "C" fn iscfunction(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this in protected mode with its arguments on the
    // stack; pushing a boolean never raises.
    unsafe {
        let c = lua_iscfunction(L, 1);
        lua_pushboolean(L, c);
    }
    1
}

/// `costtest.metatable(v)`: `v`'s metatable, even one a class hides
/// behind `__metatable` (scripts reach its methods by name through
/// `__index`, which the walk cannot list).
unsafe extern "C" fn metatable(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls this in protected mode; lua_getmetatable pushes
    // the metatable, if any, and never raises.
    unsafe {
        if lua_getmetatable(L, 1) == 0 {
            return 0;
        }
    }
    1
}

/// `require "costtest"`: the test's helpers, which the enumeration skips.
pub unsafe extern "C" fn open(L: *mut lua_State) -> c_int {
    // SAFETY: Lua calls the opener in protected mode; these may raise
    // memory errors and nothing here has a destructor.
    unsafe {
        lua_createtable(L, 0, 3);
        lua_pushcclosure(L, metatable, 0);
        lua_setfield(L, -2, c"metatable".as_ptr());
        lua_pushcclosure(L, uncharged, 0);
        lua_setfield(L, -2, c"uncharged".as_ptr());
        lua_pushcclosure(L, iscfunction, 0);
        lua_setfield(L, -2, c"iscfunction".as_ptr());
    }
    1
}

/// A `print` that keeps nothing: the probes print megabytes.
unsafe extern "C" fn sink(L: *mut lua_State) -> c_int {
    // SAFETY: called by Lua in protected mode; print_line may raise and
    // nothing here has a destructor.
    let _ = unsafe { crate::interp::print_line(L) };
    0
}

/// The libraries a host state can `require` beyond its globals: the
/// built-in `byteorder` and the host's list, less the tests' own.
fn requirable() -> Vec<String> {
    let mut names = vec!["byteorder".to_string()];
    for (name, _) in super::LIBRARIES {
        let name = name.to_str().unwrap();
        if name != "handletest" && name != "costtest" {
            names.push(name.to_string());
        }
    }
    names
}

/// Finds every C function of a fresh state: it walks `_G`, every library
/// `require` gives and `package.loaded`, the string metatable and the
/// metatables of the objects the libraries make, names each function by
/// its path (`string.packsize`), then calls each once with every argument
/// shape and adds the C functions those calls return, named after their
/// maker (`string.gmatch()`): iterators, wrapped coroutines. `FUNCS[i]`
/// is `{name, function, maker}`.
const ENUMERATE: &str = r#"
local iscfunction = require('costtest').iscfunction
local seen, found = {[require('costtest')] = true}, {}
local function add(name, f, maker)
  if not seen[f] and iscfunction(f) then
    seen[f] = true
    found[#found + 1] = {name, f, maker}
  end
end
local function walk(t, path, depth)
  if type(t) ~= 'table' or seen[t] or depth > 4 then return end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do if type(k) == 'string' then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = rawget(t, k)
    local name = path == '' and k or path .. '.' .. k
    if type(v) == 'function' then add(name, v)
    elseif type(v) == 'table' and not (t == _G and k == 'package') then walk(v, name, depth + 1) end
  end
end
walk(_G, '', 0)
for _, name in ipairs(LIBS) do walk(require(name), name, 0) end
walk(package, 'package', 0)
walk(getmetatable(''), 'getmetatable("")', 0)
OBJECTS = {}
if package.loaded.data then OBJECTS['data.new()'] = function() return package.loaded.data.new(8) end end
for name, make in pairs(OBJECTS) do
  local mt = require('costtest').metatable(make())
  if type(mt) == 'table' then
    -- Methods by their call name: data.new().getstring.
    walk(rawget(mt, '__index'), name, 0)
    walk(mt, name, 0)
  end
end
FUNCS = found
"#;

/// The argument shapes, each up to `N` bytes or slots: long strings of
/// every kind the C functions scan differently (plain, spaces, a comment,
/// escapes for `%q`, UTF-8 continuation bytes, two-byte characters,
/// format options), long and sparse tables, deep nesting, big and edge
/// integers, patterns, functions (a comparator, a `load` reader that never
/// ends) and a `data` buffer. `SHAPES[j]` is a list of arguments.
const SHAPES: &str = r#"
N = 1 << 20
local N = N
local S = string.rep('a', N)
local Z = string.rep(' ', N)
local C = '--' .. S
local Q = string.rep('\0"\\\n\r', N // 5)
local U = 'a' .. string.rep('\x80', N)
local W = string.rep(utf8.char(2047), N // 2)
local F = string.rep('b', N)
local P = string.rep('%', N)
local D = string.rep('(', N)
local B = string.rep('a', N - 1) .. 'b'
local id = function(...) return ... end
local lt = function(a, b) return a < b end
local reader = function() return Z end
local data = package.loaded.data
function fresh()
  local T = {}
  for i = 1, N // 8 do T[i] = N // 8 - i end
  local TS = {}
  for i = 1, N // 64 do TS[i] = S end
  local E = table.create(N)
  local H = {}
  for i = 1, N // 64 do H['k' .. i] = i end
  local deep = {}
  for i = 1, 150 do deep = {deep} end
  local function intact()
    return #T == N // 8 and T[1] == N // 8 - 1 and T[N // 8] == 0 and #TS == N // 64
      and TS[1] == S and next(E) == nil and #E == 0 and H.k1 == 1 and H['k' .. N // 64] == N // 64
      and rawlen(H) == 0 and deep[1] ~= nil and getmetatable(T) == nil and getmetatable(TS) == nil
      and getmetatable(E) == nil and getmetatable(H) == nil and getmetatable(deep) == nil
  end
  local shapes = {
    {S}, {S, 2}, {S, 1, -1}, {S, 1, N // 2}, {S, S}, {B, S}, {S, B},
    {S, '.-.-.-b'}, {S, 'a', '%0%0'}, {S, '.', id}, {S, 3},
    {'%q', Q}, {'%s', S}, {P}, {Q}, {Z}, {C}, {D},
    {U}, {U, 2}, {U, 1, -1}, {W}, {W, 1, -1}, {W, -1}, {F}, {'<' .. F}, {'z', S},
    {T}, {T, 1, #T}, {T, lt}, {T, 1, #T, 2}, {TS}, {TS, S}, {E}, {E, N},
    {H}, {deep}, {N}, {N, N}, {math.maxinteger}, {math.mininteger}, {1 << 24, 0},
    {id}, {reader}, {'t', 1}, {'collect'}, {'count'},
  }
  if data then
    local d = data.new(N)
    shapes[#shapes + 1] = {d}
    shapes[#shapes + 1] = {d, 0}
    shapes[#shapes + 1] = {d, 0, S}
  end
  INTACT = intact
  return shapes
end
SHAPES = fresh()
function discover(i)
  local f = FUNCS[i][2]
  for j = 1, #SHAPES do
    local a = SHAPES[j]
    local ok, g = pcall(f, a[1], a[2], a[3], a[4])
    if ok and type(g) == 'function' and require('costtest').iscfunction(g) then
      local name = FUNCS[i][1] .. '()'
      local known = false
      for k = 1, #FUNCS do if FUNCS[k][1] == name or FUNCS[k][2] == g then known = true end end
      if not known then FUNCS[#FUNCS + 1] = {name, g, f} end
    end
  end
end
"#;

/// One entry: function `i` called in a loop with shape `j` until the
/// deadline stops it; a function a call returned is made again for each
/// call from its maker.
const PROBE: &str = r#"
function probe(i, j)
  local name, f, maker = FUNCS[i][1], FUNCS[i][2], FUNCS[i][3]
  local a = SHAPES[j]
  local a1, a2, a3, a4 = a[1], a[2], a[3], a[4]
  if maker then
    while true do
      local ok, g = pcall(maker, a1, a2, a3, a4)
      if ok and type(g) == 'function' then pcall(g, a1, a2, a3, a4) end
    end
  else
    while true do pcall(f, a1, a2, a3, a4) end
  end
end
function names() local t = {} for i = 1, #FUNCS do t[i] = FUNCS[i][1] end return table.concat(t, ' ') end
"#;

/// The deadline of each probe, in CPU nanoseconds.
const DEADLINE: u64 = 1_000_000;

/// The deadline of the set-up entries (making the shapes, finding the
/// functions calls return), in CPU nanoseconds.
const SETUP_DEADLINE: u64 = 2_000_000_000;

/// How far past its deadline an entry may end: one check interval
/// (`BUDGET_GRANULE` (lua/account.rs) instructions or units, a few microseconds) and
/// the one operation the model charges before doing it whole (a block's
/// reallocation, a collection step, a result list of up to `LUAI_MAXSTACK`
/// values), with room for a slower machine; several times more under the
/// sanitizers. Uncharged work on the probes' arguments overruns by
/// hundreds of milliseconds: 1,000 loop turns of a C call each doing
/// work on a megabyte pass before the clock is read.
fn allowed() -> u64 {
    if cfg!(lunatik_sanitize) {
        150_000_000
    } else {
        40_000_000
    }
}

/// A state with the softirq limits (32 MiB, a budget of 10,000,000), the
/// thread's CPU time as its clock and `DEADLINE` per entry, holding the
/// enumeration, the shapes and the probe.
fn probe_state() -> State {
    let mut s = State::with_print(32 << 20, 10_000_000, sink).unwrap();
    let libs: Vec<String> = requirable().iter().map(|n| format!("'{n}'")).collect();
    s.run(&format!("LIBS = {{{}}}", libs.join(", "))).unwrap();
    s.run(ENUMERATE).unwrap();
    s.run(SHAPES).unwrap();
    s.run(PROBE).unwrap();
    s.set_clock(cpu_clock);
    // Each function once with each shape, for the functions it returns;
    // a generous deadline stops what the model does not charge.
    s.set_time_limit(SETUP_DEADLINE);
    let n: i64 = s.eval("return #FUNCS").unwrap().parse().unwrap();
    for i in 1..=n {
        let _ = s.call(c"discover", &[Arg::Int(i)], |_| ());
    }
    s.set_time_limit(DEADLINE);
    s
}

/// Runs the probe of function `i` with every shape; returns its name, the
/// longest entry (CPU ns) and the shape that took it.
fn probe_function(s: &mut State, i: i64, only_shape: Option<i64>) -> (String, u64, i64) {
    let shapes: i64 = s.eval("return #SHAPES").unwrap().parse().unwrap();
    let name = s.eval(&format!("return FUNCS[{i}][1]")).unwrap();
    // The shapes' tables again if the last function changed them.
    s.set_time_limit(SETUP_DEADLINE);
    let t0 = cpu_clock();
    s.run("if not INTACT() then SHAPES, INTACT = nil collectgarbage() SHAPES = fresh() end")
        .unwrap_or_else(|e| panic!("shapes after {name}: {e}"));
    s.set_time_limit(DEADLINE);
    let t1 = cpu_clock();
    let mut sum = 0;
    let mut worst = (0, 0);
    for j in 1..=shapes {
        if only_shape.is_some_and(|o| o != j) {
            continue;
        }
        let start = cpu_clock();
        let r = s.call(c"probe", &[Arg::Int(i), Arg::Int(j)], |_| ());
        let took = cpu_clock() - start;
        let err = r.expect_err(&format!("{name} with shape {j} returned"));
        assert!(err.contains("exceeded"), "{name} with shape {j}: {err}");
        sum += took;
        if took > worst.0 {
            worst = (took, j);
        }
    }
    eprintln!(
        "{name}: setup {} us, probes {} us, all {} us",
        (t1 - t0) / 1000,
        sum / 1000,
        (cpu_clock() - t0) / 1000
    );
    (name, worst.0, worst.1)
}

/// Probes the functions named by `filter` (all when `None`) and returns
/// each one's name, longest entry and shape, longest first.
fn probe_all(filter: Option<&str>) -> Vec<(String, u64, i64)> {
    let mut s = probe_state();
    let n: i64 = s.eval("return #FUNCS").unwrap().parse().unwrap();
    let mut results = Vec::new();
    for i in 1..=n {
        let name = s.eval(&format!("return FUNCS[{i}][1]")).unwrap();
        if filter.is_some_and(|f| !f.split(',').any(|f| f == name)) {
            continue;
        }
        results.push(probe_function(&mut s, i, None));
    }
    results.sort_by_key(|r| core::cmp::Reverse(r.1));
    results
}

/// The functions whose entries ended past the deadline plus the allowed
/// overrun.
fn overruns(results: &[(String, u64, i64)]) -> Vec<String> {
    results
        .iter()
        .filter(|(_, took, _)| *took > DEADLINE + allowed())
        .map(|(name, took, shape)| format!("{name} (shape {shape}): {} ms", took / 1_000_000))
        .collect()
}

#[test]
fn every_c_function_meets_the_deadline() {
    // LUNATIK_COST_ONLY=a,b probes only those functions (to measure them,
    // or to see the test name one whose charge was taken out).
    let only = std::env::var("LUNATIK_COST_ONLY").ok();
    let results = within(600, move || probe_all(only.as_deref()));
    let probed_all = std::env::var("LUNATIK_COST_ONLY").is_err();
    println!("{} C functions; the longest entries:", results.len());
    for (name, took, shape) in results.iter().take(40) {
        println!("  {name} (shape {shape}): {} us", took / 1000);
    }
    let names: Vec<&str> = results.iter().map(|r| r.0.as_str()).collect();
    // The walk found the libraries, their methods and the functions calls
    // return: a walk that found nothing would pass.
    for expected in [
        "string.packsize",
        "string.format",
        "table.unpack",
        "utf8.codepoint",
        "next",
        "load",
        "data.new",
        "data.new().getstring",
        "byteorder.hton32",
        "string.gmatch()",
        "utf8.codes()",
        "coroutine.wrap()",
    ] {
        assert!(
            !probed_all || names.contains(&expected),
            "{expected} not found in {names:?}"
        );
    }
    let over = overruns(&results);
    assert!(
        over.is_empty(),
        "entries past {} ms + {} ms: {over:?}",
        DEADLINE / 1_000_000,
        allowed() / 1_000_000
    );
}

/// The negative control: the same probe flags a C function that does
/// uncharged work, by name.
#[test]
fn an_uncharged_function_is_named() {
    let results = within(120, || {
        let mut s = probe_state();
        s.run("FUNCS[#FUNCS + 1] = {'costtest.uncharged', require('costtest').uncharged}")
            .unwrap();
        let i: i64 = s.eval("return #FUNCS").unwrap().parse().unwrap();
        // Its one argument: the first shape, a long string.
        vec![probe_function(&mut s, i, Some(1))]
    });
    let over = overruns(&results);
    assert!(
        over.len() == 1 && over[0].starts_with("costtest.uncharged"),
        "{results:?}"
    );
}
