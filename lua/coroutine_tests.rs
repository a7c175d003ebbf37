//! Host tests of how coroutines are charged: every instruction a coroutine
//! runs counts toward the budget of the entry that resumed it, and the
//! deadline is checked each time a coroutine is entered or left, however
//! short-lived or deeply nested the coroutines are (issue 22).

use super::hardening_tests::within;
use super::State;
use crate::account::{Kill, BUDGET_GRANULE};
use std::time::{Duration, Instant};

/// `nest(n)` runs `n` levels of coroutines, each resuming the next level
/// `FAN` times from a new `coroutine.wrap`; the innermost runs `LEAF`
/// loop turns.
fn nest(fan: u32, leaf: u32) -> String {
    format!(
        "local function nest(n) if n == 0 then for i = 1, {leaf} do end return end \
         for i = 1, {fan} do coroutine.wrap(nest)(n - 1) end end "
    )
}

/// Coroutine runaways: endless nests of 3 and 4 levels, whose innermost
/// coroutines run more or less than one count of the hook
/// ([`BUDGET_GRANULE`] instructions); a single bounded 4-level call
/// (160,000 coroutines of about 200 instructions each, some 40 million
/// instructions, none ending a count of its own); and a coroutine that
/// yields in a tight loop.
fn runaways() -> Vec<String> {
    vec![
        nest(100, 20000) + "while true do nest(3) end",
        nest(100, 500) + "while true do nest(3) end",
        nest(100, 500) + "while true do nest(4) end",
        nest(20, 200) + "nest(4)",
        "local co = coroutine.create(function() while true do \
         for i = 1, 100 do end coroutine.yield() end end) \
         while true do coroutine.resume(co) end"
            .into(),
    ]
}

#[test]
fn coroutine_runaways_meet_the_deadline() {
    const LIMIT: Duration = Duration::from_millis(50);
    for src in runaways() {
        let owned = src.clone();
        let (res, took, longest) = within(60, move || {
            // No instruction budget: the clock alone stops the entry.
            let mut s = State::new(0, 0).unwrap();
            s.set_time_limit(LIMIT.as_nanos() as u64);
            let start = Instant::now();
            let res = s.run(&owned);
            let took = start.elapsed();
            assert_eq!(s.eval("return 1").unwrap(), "1");
            (res, took, s.account().longest_entry_ns)
        });
        println!("{took:?} (recorded {longest} ns): {src}: {res:?}");
        let err = res.expect_err(&src);
        assert!(err.contains("time limit exceeded"), "{src}: {err}");
        // One check interval past the deadline, with room for a loaded
        // host (the same allowance as hardening_tests.rs).
        assert!(took < LIMIT * 20, "{src}: {took:?}");
    }
}

#[test]
fn coroutine_runaways_meet_the_budget() {
    const BUDGET: u64 = 10_000_000;
    for src in runaways() {
        let owned = src.clone();
        let (res, took, killed) = within(60, move || {
            let mut s = State::new(0, BUDGET).unwrap();
            let start = Instant::now();
            let res = s.run(&owned);
            let took = start.elapsed();
            let killed = s.account().killed;
            assert_eq!(s.eval("return 1").unwrap(), "1");
            (res, took, killed)
        });
        println!("{took:?}: {src}: {res:?}");
        let err = res.expect_err(&src);
        assert!(err.contains("instruction budget exceeded"), "{src}: {err}");
        assert_eq!(killed, Kill::Budget, "{src}");
        // Ten million instructions take well under a second on the host.
        assert!(took < Duration::from_secs(10), "{src}: {took:?}");
    }
}

/// A coroutine resumed in a tight loop, which yields after a short
/// stretch of work: what it runs between yields is charged, so the loop
/// stops after as many stretches as the budget pays for.
#[test]
fn a_yielding_coroutine_is_charged() {
    within(60, || {
        let mut s = State::new(0, 1_000_000).unwrap();
        let err = s
            .run(
                "n = 0 local co = coroutine.create(function() while true do \
                 for i = 1, 100 do end n = n + 1 coroutine.yield() end end) \
                 while true do coroutine.resume(co) end",
            )
            .unwrap_err();
        assert!(err.contains("instruction budget exceeded"), "{err}");
        let n: u64 = s.eval("return n").unwrap().parse().unwrap();
        // Each stretch is more than 100 instructions (the loop's turns).
        assert!(n > 0 && n <= 1_000_000 / 100, "{n} stretches ran");
    });
}

/// The same loop, run in the main thread or spread over many short
/// coroutines, stops after the same number of turns: `assert` returns
/// the function it is given, and `coroutine.wrap` a coroutine running it,
/// both C functions that run no Lua instruction, so the Lua code the two
/// scripts run is the same, instruction for instruction.
#[test]
fn coroutine_instructions_count_as_the_main_threads() {
    let turns = |wrap: &str| {
        let src = format!(
            "n = 0 local wrap = {wrap} \
             local function f() for i = 1, 100 do n = n + 1 end end \
             while true do wrap(f)() end"
        );
        within(60, move || {
            let mut s = State::new(0, 1_000_000).unwrap();
            let err = s.run(&src).unwrap_err();
            assert!(err.contains("instruction budget exceeded"), "{err}");
            s.eval("return n").unwrap().parse::<i64>().unwrap()
        })
    };
    let main = turns("assert");
    let coroutines = turns("coroutine.wrap");
    println!("{main} turns in the main thread, {coroutines} in coroutines");
    // Charging may lag by less than one granule, and a turn of the loop
    // is four instructions.
    assert!(
        (main - coroutines).abs() <= i64::from(BUDGET_GRANULE) / 4,
        "{main} turns in the main thread, {coroutines} in coroutines"
    );
}

/// A coroutine created in one entry and resumed in the next is charged
/// to the next, for exactly what it runs there: it keeps no count from
/// the entry that created it.
#[test]
fn a_coroutine_from_an_earlier_entry_is_charged_to_the_later() {
    const BUDGET: u64 = 1_000_000;
    let mut s = State::new(0, BUDGET).unwrap();
    // The coroutine runs about 510 instructions between two yields.
    s.run(
        "co = coroutine.wrap(function() while true do \
         for i = 1, 500 do end coroutine.yield() end end) co()",
    )
    .unwrap();
    for _ in 0..3 {
        s.run("co()").unwrap();
        let charged = BUDGET - s.account().remaining as u64;
        assert!((500..600).contains(&charged), "charged {charged}");
    }
    // Nor does a coroutine created before a stopped entry run free in the
    // next one.
    let err = s.run("while true do end").unwrap_err();
    assert!(err.contains("instruction budget exceeded"), "{err}");
    s.run("co()").unwrap();
    let charged = BUDGET - s.account().remaining as u64;
    assert!((500..600).contains(&charged), "charged {charged}");
}

/// Closing a coroutine runs its pending `__close` handlers on the
/// coroutine's thread: what they run is charged like a resume's work.
#[test]
fn closing_a_coroutine_is_charged() {
    within(60, || {
        let mut s = State::new(0, 1_000_000).unwrap();
        let err = s
            .run(
                "n = 0 local mt = {__close = function() for i = 1, 500 do end n = n + 1 end} \
                 while true do local co = coroutine.create(function() \
                 local x <close> = setmetatable({}, mt) coroutine.yield() end) \
                 coroutine.resume(co) coroutine.close(co) end",
            )
            .unwrap_err();
        assert!(err.contains("instruction budget exceeded"), "{err}");
        let n: u64 = s.eval("return n").unwrap().parse().unwrap();
        // Each handler runs more than 500 instructions (the loop's turns).
        assert!(n > 0 && n <= 1_000_000 / 500, "{n} handlers ran");
    });
}
