//! Host tests of the hardening rules: no script can write past the Lua
//! stack, escape the instruction budget or the deadline (in finalizers or
//! inside C library functions), or reuse the C stack reserve.

use super::State;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `f` on a thread of its own and fails the test if it has not
/// returned within `secs` seconds: a hang is reported, not waited out.
pub(super) fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("the call did not end in time")
}

#[test]
fn print_takes_any_number_of_arguments() {
    let mut s = State::new(0, 0).unwrap();
    // A C function is guaranteed only 20 free stack slots; print needs two
    // per argument.
    let args: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    s.run(&format!("print({})", args.join(", "))).unwrap();
    // The packet (here a string) chooses the argument count.
    s.run("print(string.rep('x', 3000):byte(1, -1))").unwrap();
    // Past Lua's own stack limit it is an error, not an overflow.
    let err = s.run("print(table.unpack({}, 1, 900000))").unwrap_err();
    assert!(err.contains("stack overflow"), "{err}");
    assert_eq!(s.eval("return 1 + 1").unwrap(), "2");
}

#[test]
fn many_results_are_returned() {
    let mut s = State::new(0, 0).unwrap();
    // Lua 5.5 caps the result count a call may ask for at 250.
    let v = s
        .run("local t = {} for i = 1, 600 do t[i] = i end return table.unpack(t)")
        .unwrap();
    assert_eq!(v.len(), 600);
    assert_eq!(v[599], "600");
}

#[test]
fn finalizers_are_bounded_by_the_budget() {
    within(30, || {
        let mut s = State::new(0, 200_000).unwrap();
        // The finalizer's error is swallowed by the collector (as a warning);
        // the entry then fails at its next instruction.
        let err = s
            .eval("setmetatable({}, {__gc = function() while true do end end}) collectgarbage() return 1")
            .unwrap_err();
        assert!(err.contains("instruction budget exceeded"), "{err}");
        assert_eq!(s.eval("return 2").unwrap(), "2");
        // A looping finalizer left for the end: closing the state ends.
        s.run("x = setmetatable({}, {__gc = function() while true do end end})")
            .unwrap();
        s.run("y = setmetatable({}, {__gc = function() while true do end end})")
            .unwrap();
        drop(s);
    });
}

#[test]
fn explicit_collection_is_bounded_too() {
    within(30, || {
        let mut s = State::new(0, 200_000).unwrap();
        s.run("x = setmetatable({}, {__gc = function() while true do end end}) x = nil")
            .unwrap();
        s.collect();
        assert_eq!(s.eval("return 3").unwrap(), "3");
    });
}

/// Scripts whose work hides inside C library functions: one Lua
/// instruction each, unbounded work before this project charged it.
const LIBRARY_RUNAWAYS: &[&str] = &[
    // Backtracking: 76 s on the host in one call before.
    "return string.find(string.rep('a', 60), string.rep('.-', 7) .. 'b')",
    "for i = 1, 100 do string.gsub(string.rep('a', 100), string.rep('.-', 7) .. 'b', '') end",
    // Plain find, quadratic in its arguments.
    "local s = string.rep('a', 1 << 20) local p = string.rep('a', 4000) .. 'b' for i = 1, 100 do string.find(s, p, 1, true) end",
    "local s = string.rep('a', 1 << 22) for i = 1, 1000 do s:gsub('a', 'b') end",
    "local s = string.rep('a', 1 << 20) for i = 1, 100000 do local _ = s:rep(8) end",
    "local t = {} for i = 1, 200000 do t[i] = 200000 - i end for i = 1, 100 do table.sort(t) end",
    "local t = {} for i = 1, 100000 do t[i] = 'x' end for i = 1, 1000 do table.concat(t) end",
    "local t = {} for i = 1, 100000 do t[i] = i end for i = 1, 100000 do table.insert(t, 1, i) end",
    "local t = {} for i = 1, 100000 do t[i] = i end for i = 1, 10000 do table.move(t, 1, #t, 2) end",
    "local s = string.rep('\\u{7ff}', 1 << 20) for i = 1, 10000 do utf8.len(s) end",
    "local s = string.rep('a', 1 << 20) for i = 1, 10000 do local _ = s:upper() end",
    "local s = string.rep('a', 1 << 20) for i = 1, 10000 do local _ = s .. s end",
    "local src = string.rep('a = 1 ', 100000) for i = 1, 1000 do load(src) end",
    "local t = {} for i = 1, 1000000 do t[i] = {} end for i = 1, 10000 do collectgarbage() end",
];

/// The budget counts every Lua instruction, one granule per count-hook
/// call: the patched interpreter decrements the count inline when only the
/// count hook is on (lua/lua-5.5.1-kernel.patch, `vmfetch`), which must stop a
/// loop at the very instruction Lua's own `luaG_traceexec` stopped it at.
/// The figures are those of unpatched counting (Lua 5.5.1's code for
/// each loop: 4, 7 and 8 instructions per turn, with a call, with a
/// vararg call).
#[test]
fn the_budget_counts_every_instruction() {
    for (src, turns) in [
        ("n = 0 while true do n = n + 1 end", "249999"),
        (
            "n = 0 local function f(a) return a + 1 end while true do n = f(n) end",
            "142856",
        ),
        (
            "n = 0 local function g(...) return ... end while true do n = g(n) + 1 end",
            "124999",
        ),
    ] {
        let mut s = State::new(0, 1_000_000).unwrap();
        let err = s.run(src).unwrap_err();
        assert!(err.contains("instruction budget exceeded"), "{src}: {err}");
        assert_eq!(s.eval("return n").unwrap(), turns, "{src}");
    }
}

#[test]
fn library_work_is_charged_to_the_budget() {
    for src in LIBRARY_RUNAWAYS {
        let owned = src.to_string();
        let (err, took) = within(60, move || {
            let mut s = State::new(0, 10_000_000).unwrap();
            let start = Instant::now();
            let err = s.run(&owned).expect_err(&owned);
            let took = start.elapsed();
            assert_eq!(s.eval("return 1").unwrap(), "1");
            (err, took)
        });
        assert!(err.contains("instruction budget exceeded"), "{src}: {err}");
        println!("{took:?}: {src}");
        assert!(took < Duration::from_secs(20), "{took:?}");
    }
}

#[test]
fn every_entry_meets_its_deadline() {
    const LIMIT: Duration = Duration::from_millis(50);
    let runaways = LIBRARY_RUNAWAYS.iter().copied().chain([
        "while true do end",
        "while true do pcall(string.rep, 'x', 1 << 20) end",
    ]);
    for src in runaways {
        let owned = src.to_string();
        let (err, took, longest) = within(60, move || {
            // No instruction budget: the clock alone stops the entry.
            let mut s = State::new(0, 0).unwrap();
            s.set_time_limit(LIMIT.as_nanos() as u64);
            let start = Instant::now();
            let err = s.run(&owned).unwrap_err();
            let took = start.elapsed();
            assert_eq!(s.eval("return 1").unwrap(), "1");
            (err, took, s.account().longest_entry_ns)
        });
        assert!(err.contains("time limit exceeded"), "{src}: {err}");
        println!("{took:?} (recorded {longest} ns): {src}");
        // One check interval past the deadline, with room for a loaded host.
        assert!(took < LIMIT * 20, "{src}: {took:?}");
        assert!(longest >= LIMIT.as_nanos() as u64);
    }
}

#[test]
fn budget_error_is_classified_by_the_counter() {
    let mut s = State::new(0, 100_000).unwrap();
    // A script raising the budget's text itself is not a budget kill.
    let err = s.eval("error('instruction budget exceeded')").unwrap_err();
    assert!(err.contains("instruction budget exceeded"));
    assert_eq!(s.account().budget_kills, 0);
    assert_eq!(s.account().killed, crate::account::Kill::None);
    let _ = s.eval("while true do end").unwrap_err();
    assert_eq!(s.account().killed, crate::account::Kill::Budget);
}

#[test]
fn c_stack_reserve_serves_one_overflow_per_entry() {
    let mut s = State::new(0, 0).unwrap();
    let deep = "local t = setmetatable({}, {__index = function(t, k) return t[k] end})";
    // The first overflow gets its message handler; a second one in the
    // same entry fails at once without entering the reserve again.
    let v = s
        .run(&format!(
            "{deep} local a, e1 = pcall(function() return t.x end) \
             local b, e2 = pcall(function() return t.x end) return e1, e2"
        ))
        .unwrap();
    assert!(v[0].contains("C stack overflow"), "{v:?}");
    // Under sanitizers the stack budget is larger than Lua's own limit of
    // nested C calls (LUAI_MAXCCALLS), which then stops the recursion
    // first, reserve or not.
    if !cfg!(lunatik_sanitize) {
        assert!(v[1].contains("error in error handling"), "{v:?}");
    }
    // The next entry has its reserve back.
    let err = s.run(&format!("{deep} return t.x")).unwrap_err();
    assert!(err.contains("C stack overflow"), "{err}");
    assert_eq!(s.eval("return 1").unwrap(), "1");
}

#[test]
fn readers_and_long_tokens_are_charged() {
    within(60, || {
        let mut s = State::new(0, 1_000_000).unwrap();
        // A C function as load's reader returns "0" forever: one numeral
        // that never ends, read by no Lua instruction.
        let err = s.run("return load(collectgarbage)").unwrap_err();
        assert!(err.contains("instruction budget exceeded"), "{err}");
        // Caught, and returned through a tail call that runs no further
        // instruction: the stopped entry fails all the same.
        let err = s.run("return pcall(string.rep, 'x', 1 << 22)").unwrap_err();
        assert!(err.contains("instruction budget exceeded"), "{err}");
        let err = s.run("return load(collectgarbage)").unwrap_err();
        assert!(err.contains("exceeded"), "{err}");
        // Found by the fuzzer under UBSan: a level near INT_MAX overflowed.
        let v = s
            .run("return debug.traceback('x', math.maxinteger)")
            .unwrap();
        assert_eq!(v[0], "x\nstack traceback:");
    });
}
