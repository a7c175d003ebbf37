//! Host tests of the Lua configuration the module runs.

use super::State;

fn state() -> State {
    State::new(0, 0).expect("state")
}

#[test]
fn arithmetic_is_integer() {
    let mut s = state();
    assert_eq!(s.eval("return 6*7").unwrap(), "42");
    assert_eq!(s.eval("return 7/2").unwrap(), "3");
    assert_eq!(s.eval("return -7/2").unwrap(), "-4", "'/' floors");
    assert_eq!(s.eval("return 7//2").unwrap(), "3");
    assert_eq!(s.eval("return 2^10").unwrap(), "1024");
    assert_eq!(s.eval("return math.type(7/2)").unwrap(), "integer");
    assert_eq!(s.eval("return math.type(2^3)").unwrap(), "integer");
    assert_eq!(s.eval("return tostring(10/5)").unwrap(), "2");
    assert_eq!(
        s.eval("return math.maxinteger + 1 == math.mininteger")
            .unwrap(),
        "true"
    );
    assert_eq!(s.eval("return tonumber('12')").unwrap(), "12");
    assert_eq!(s.eval("return tonumber('1.5')").unwrap(), "nil");
    assert_eq!(
        s.eval("return string.format('%d %x', 10, 255)").unwrap(),
        "10 ff"
    );
}

#[test]
fn division_by_zero_raises() {
    let mut s = state();
    for src in [
        "return 1/0",
        "return 1//0",
        "return 1%0",
        "local z = 0 return 5/z",
    ] {
        let err = s.eval(src).unwrap_err();
        assert!(
            err.contains("attempt to divide by zero") || err.contains("attempt to perform 'n%0'"),
            "{src}: {err}"
        );
    }
    assert!(s
        .eval("return 2^-1")
        .unwrap_err()
        .contains("negative power"));
}

#[test]
fn float_literals_do_not_compile() {
    let mut s = state();
    for src in ["return 1.5", "return 1e3", "return 0x1p4", "return .5"] {
        let err = s.eval(src).unwrap_err();
        assert!(
            err.contains("malformed number (numbers are integers only)"),
            "{src}: {err}"
        );
    }
}

#[test]
fn float_formats_and_packing_are_refused() {
    let mut s = state();
    assert!(s
        .eval("return string.format('%f', 1)")
        .unwrap_err()
        .contains("invalid conversion"));
    assert!(s
        .eval("return string.pack('d', 1)")
        .unwrap_err()
        .contains("invalid format option"));
    assert_eq!(s.eval("return #string.pack('n', 1)").unwrap(), "8");
}

#[test]
fn integer_math_library() {
    let mut s = state();
    assert_eq!(
        s.eval("return math.abs(-5), math.max(1, 9, 3), math.min(4, -2)")
            .unwrap(),
        "5"
    );
    assert_eq!(
        s.run("return math.max(1, 9, 3), math.min(4, -2)").unwrap(),
        ["9", "-2"]
    );
    assert_eq!(
        s.eval("return math.abs(math.mininteger) == math.mininteger")
            .unwrap(),
        "true"
    );
    assert_eq!(s.eval("return math.ult(1, -1)").unwrap(), "true");
    assert_eq!(s.eval("return math.tointeger('x')").unwrap(), "nil");
    let r = s.eval("math.randomseed(7) local ok = true for i = 1, 1000 do local r = math.random(3, 5) ok = ok and r >= 3 and r <= 5 end return ok").unwrap();
    assert_eq!(r, "true");
    let a = s
        .eval("math.randomseed(9) return math.random(1, 1000000)")
        .unwrap();
    let b = s
        .eval("math.randomseed(9) return math.random(1, 1000000)")
        .unwrap();
    assert_eq!(a, b, "randomseed makes runs reproducible");
    assert!(s
        .eval("return math.random(5, 1)")
        .unwrap_err()
        .contains("interval is empty"));
    assert_eq!(s.eval("return math.pi").unwrap(), "nil");
}

#[test]
fn sandbox_has_no_files_and_no_bytecode() {
    let mut s = state();
    assert_eq!(
        s.eval("return type(dofile), type(loadfile), type(io), type(os)")
            .unwrap(),
        "nil"
    );
    assert_eq!(s.eval("return load('return 5')()").unwrap(), "5");
    let r = s
        .run("return load(string.dump(function() return 1 end))")
        .unwrap();
    assert_eq!(r[0], "nil");
    assert!(r[1].contains("attempt to load a binary chunk"), "{r:?}");
    assert_eq!(
        s.eval("local env = {x = 3} return load('return x', 'c', 'b', env)()")
            .unwrap(),
        "3"
    );
}

#[test]
fn debug_has_only_traceback() {
    let mut s = state();
    let t = s
        .eval("local function f() return debug.traceback('here') end return f()")
        .unwrap();
    assert!(t.starts_with("here\nstack traceback:"), "{t}");
    assert!(
        t.contains("in local 'f'") || t.contains("in function"),
        "{t}"
    );
    assert_eq!(s.eval("return debug.traceback({}) ~= nil").unwrap(), "true");
    assert_eq!(
        s.eval("local n = 0 for k in pairs(debug) do n = n + 1 end return n")
            .unwrap(),
        "1"
    );
    assert_eq!(
        s.eval("return type(debug.getinfo), type(debug.sethook)")
            .unwrap(),
        "nil"
    );
}

#[test]
fn errors_carry_location_and_traceback() {
    let mut s = state();
    let err = s.eval("local x = \nfoo(").unwrap_err();
    assert!(err.starts_with("test:2:"), "{err}");
    let err = s
        .eval("local function f() error('boom') end f()")
        .unwrap_err();
    assert!(
        err.contains("test:1: boom") && err.contains("stack traceback"),
        "{err}"
    );
}

#[test]
fn states_are_isolated() {
    let mut a = state();
    let mut b = state();
    a.run("x = 1").unwrap();
    assert_eq!(a.eval("return x").unwrap(), "1");
    assert_eq!(b.eval("return x").unwrap(), "nil");
}

#[test]
fn budget_stops_infinite_loops_and_state_survives() {
    let mut s = State::new(0, 100_000).unwrap();
    let err = s.eval("while true do end").unwrap_err();
    assert!(err.contains("instruction budget exceeded"), "{err}");
    assert_eq!(s.account().budget_kills, 1);
    assert_eq!(s.eval("return 1 + 1").unwrap(), "2");
    // Catching the error does not help: the next instruction fails again.
    let err = s
        .eval("while true do pcall(function() while true do end end) end")
        .unwrap_err();
    assert!(err.contains("instruction budget exceeded"), "{err}");
    // Nor does spreading the work over coroutines.
    let err = s
        .eval("while true do coroutine.wrap(function() for i = 1, 50000 do end end)() end")
        .unwrap_err();
    assert!(err.contains("instruction budget exceeded"), "{err}");
    assert_eq!(s.account().budget_kills, 3);
    // A loop within the budget runs to the end.
    assert_eq!(
        s.eval("local n = 0 for i = 1, 1000 do n = n + i end return n")
            .unwrap(),
        "500500"
    );
}

#[test]
fn memory_cap_fails_allocation_and_state_recovers() {
    let cap = 256 * 1024;
    let mut s = State::new(cap, 0).unwrap();
    let idle = s.account().used;
    let err = s
        .eval("local t = {} for i = 1, 1000000000 do t[i] = tostring(i) end")
        .unwrap_err();
    assert!(err.contains("not enough memory"), "{err}");
    assert!(s.account().alloc_failures > 0);
    assert!(s.account().peak <= cap);
    // Each full cycle halves the string table and the stack once they are
    // mostly empty, so a few cycles bring the state back near idle.
    for _ in 0..4 {
        s.collect();
    }
    assert!(
        s.account().used < idle + 16 * 1024,
        "used {} after collect, idle {}",
        s.account().used,
        idle
    );
    assert_eq!(s.eval("return 6 * 7").unwrap(), "42");
}

#[test]
fn deep_nesting_is_a_lua_error() {
    let mut s = state();
    let deep = format!("return {}1{}", "(".repeat(1000), ")".repeat(1000));
    assert!(s.eval(&deep).unwrap_err().contains("overflow"));
    let nested = format!("{}{}", "do ".repeat(1000), "end ".repeat(1000));
    assert!(s.eval(&nested).unwrap_err().contains("overflow"));
    let err = s
        .eval("local function f() return pcall(f) end return select('#', f())")
        .unwrap();
    assert!(!err.is_empty());
    let err = s
        .eval("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x")
        .unwrap_err();
    assert!(err.contains("overflow"), "{err}");
    let err = s
        .eval("local function f(s) return (s:gsub('.', f)) end return f('ab')")
        .unwrap_err();
    assert!(err.contains("overflow"), "{err}");
    let err = s.eval("local t = {3, 1, 2} local function c(a, b) table.sort(t, c) return a < b end table.sort(t, c)").unwrap_err();
    assert!(err.contains("overflow"), "{err}");
    let concat = format!("return {}", vec!["'a'"; 5000].join(" .. "));
    assert!(s.eval(&concat).is_ok() || s.eval(&concat).unwrap_err().contains("overflow"));
    assert_eq!(s.eval("return 1").unwrap(), "1");
}

#[test]
fn calls_a_global_function_with_arguments() {
    use super::interp::{Arg, Value};
    let mut s = State::new(0, 10_000).unwrap();
    s.run("function f(a, b, c, d) return a + b, #c, d, nil, {} end function spin() while true do end end")
        .unwrap();
    let args = [Arg::Int(40), Arg::Int(2), Arg::Str(b"abc"), Arg::Bool(true)];
    let got = s
        .call(c"f", &args, |v| {
            assert_eq!(
                v,
                [
                    Value::Int(42),
                    Value::Int(3),
                    Value::Bool(true),
                    Value::Nil,
                    Value::Other("table")
                ]
            );
            v.len()
        })
        .unwrap();
    assert_eq!(got, 5);
    let err = s.call(c"nope", &[], |_| ()).unwrap_err();
    assert!(err.contains("no function 'nope'"), "{err}");
    let err = s.call(c"f", &[Arg::Nil], |_| ()).unwrap_err();
    assert!(
        err.contains("attempt to perform arithmetic on a nil value"),
        "{err}"
    );
    let err = s.call(c"spin", &[], |_| ()).unwrap_err();
    assert!(err.contains("instruction budget exceeded"), "{err}");
    assert!(s.call(c"f", &args, |v| v[0] == Value::Int(42)).unwrap());
}

#[test]
fn idle_state_memory() {
    let s = state();
    let used = s.account().used;
    println!("idle state with standard libraries: {used} bytes");
    assert!(used > 4096 && used < 64 * 1024, "{used}");
}

/// `keep(f)`: stores `f` as a callback and returns its id (as a hook
/// registration does).
unsafe extern "C" fn keep(L: *mut super::ffi::lua_State) -> core::ffi::c_int {
    use super::ffi::*;
    // SAFETY: called by Lua in protected mode; nothing has a destructor.
    unsafe {
        luaL_checktype(L, 1, LUA_TFUNCTION);
        let id = super::interp::store_callback(L, 1);
        lua_pushinteger(L, id);
    }
    1
}

#[test]
fn callbacks_are_registry_references_never_reused() {
    use super::interp::{self, Callee, Value};
    let mut s = state();
    // SAFETY: the state is idle; a light C function never allocates.
    unsafe {
        super::ffi::lua_pushcclosure(s.L, keep, 0);
        super::ffi::lua_setglobal(s.L, c"keep".as_ptr());
    }
    let id = |s: &mut State, src: &str| -> i64 { s.eval(src).unwrap().parse().unwrap() };
    let call = |s: &mut State, id: i64| -> Result<i64, String> {
        // SAFETY: the state is idle; the result is read before the next call.
        unsafe {
            match interp::call(s.L, Callee::Callback(id), &[]) {
                Ok(()) => match interp::value_at(s.L, 0) {
                    Value::Int(v) => Ok(v),
                    v => Err(format!("{v:?}")),
                },
                Err(_) => Err(String::from_utf8_lossy(interp::error_message(s.L)).into_owned()),
            }
        }
    };
    let a = id(&mut s, "return keep(function() return 1 end)");
    let b = id(&mut s, "return keep(function() return 2 end)");
    assert_ne!(a, b);
    assert_eq!(call(&mut s, a), Ok(1));
    assert_eq!(call(&mut s, b), Ok(2));
    // SAFETY: the state is idle.
    unsafe { interp::drop_callback(s.L, a) };
    let e = call(&mut s, a).unwrap_err();
    assert!(e.contains("no callback"), "{e}");
    // A forgotten id is never handed out again, so an old handle cannot
    // name a newer callback.
    let c = id(&mut s, "return keep(function() return 3 end)");
    assert!(c != a && c != b, "{a} {b} {c}");
    assert_eq!(call(&mut s, c), Ok(3));
    assert_eq!(call(&mut s, b), Ok(2));
    // Ids that are not callbacks (the registry's own slots) are refused,
    // and dropping them changes nothing.
    for bogus in [0, 1, 2, 3, 1 << 40] {
        // SAFETY: the state is idle.
        unsafe { interp::drop_callback(s.L, bogus) };
        assert!(call(&mut s, bogus).is_err());
    }
    assert_eq!(s.eval("return 6 * 7").unwrap(), "42");
}

#[test]
fn an_idle_state_fits_in_12_kib() {
    // The kernel's idle state is the same Lua with the same libraries
    // (make bench prints its size); thousands of idle states must stay
    // cheap.
    let used = state().account().used;
    assert!(used <= 12 * 1024, "{used} bytes");
}
