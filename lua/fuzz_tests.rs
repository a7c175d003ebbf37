//! The Lua API fuzzer (selftests/fuzz/api.lua) on the host build of Lua:
//! many seeds, each a batch of random calls into every library, in states
//! with the kernel's default memory cap and the softirq budget. Under
//! `make asan` the same test runs under AddressSanitizer and UBSan with
//! more calls.
//!
//! `LUNATIK_FUZZ_CALLS` sets the total number of calls (100,000 by
//! default), `LUNATIK_FUZZ_SEED` the first seed (1 by default),
//! `LUNATIK_FUZZ_TRACE` prints every call; a failure names the seed to
//! replay (docs/testing.md).

use super::interp::{Arg, Value};
use super::State;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// The fuzzer, the same file the VM suite runs.
const SCRIPT: &str = include_str!("../selftests/fuzz/api.lua");

/// Calls per seed: what one `lunatik exec` makes in the VM suite, so a
/// seed stays well inside a softirq entry's budget there and here.
const CALLS_PER_SEED: i64 = 500;

/// Seeds run in one state before a fresh one replaces it: long enough for
/// one seed's leftovers (rcu tables, collector settings, garbage) to meet
/// the next, short enough to replay a failure in seconds.
const SEEDS_PER_STATE: i64 = 20;

/// Threads running seeds side by side (the machine's cores).
const THREADS: usize = 2;

/// The seed each thread is running, for the watchdog and the sanitizer's
/// death callback.
static IN_FLIGHT: [AtomicI64; THREADS] = [AtomicI64::new(0), AtomicI64::new(0)];

/// When each thread started its seed, in milliseconds since [`epoch`].
static STARTED: [AtomicI64; THREADS] = [AtomicI64::new(0), AtomicI64::new(0)];

/// How long one seed may run before the watchdog calls it a hang. A seed
/// takes milliseconds, tens of them under ASan; a library call that walks
/// 2^63 indices takes forever, and a C function cannot be interrupted, so
/// the watchdog names the seed and ends the process.
const HANG: Duration = Duration::from_secs(60);

/// The time the watchdog measures from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> i64 {
    i64::try_from(epoch().elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Checks five times a second that no seed runs longer than [`HANG`], until
/// `done`; a hung seed is named and the process aborted.
fn watchdog(done: &AtomicBool) {
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        for (slot, started) in STARTED.iter().enumerate() {
            let since = started.load(Ordering::Relaxed);
            if since > 0 && now_ms() - since > HANG.as_millis() as i64 {
                // Written straight to the standard error stream: the test
                // harness would hold a println! back until the test ends.
                use std::io::Write;
                let seed = IN_FLIGHT[slot].load(Ordering::Relaxed);
                let _ = writeln!(
                    std::io::stderr(),
                    "fuzz: seed {seed} has run for more than {HANG:?}: a hang \
                     (replay: LUNATIK_FUZZ_SEED={seed} LUNATIK_FUZZ_CALLS={CALLS_PER_SEED} \
                     cargo test -p lunatik-lua lua_api_fuzzer)"
                );
                std::process::abort();
            }
        }
    }
}

fn env_number(name: &str, default: i64) -> i64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not an integer")),
        Err(_) => default,
    }
}

/// With `LUNATIK_FUZZ_TRACE` set, the fuzzer prints each call before
/// making it (its name and a short description of each argument), so the
/// last line before a crash or hang names the call (with `--nocapture`).
const TRACE: &str = "function fuzz_trace(i, name, n, ...)
    local shown = {}
    for k = 1, n do
        local v = select(k, ...)
        shown[k] = type(v) == 'string' and ('string of ' .. #v .. ' bytes')
            or math.type(v) and tostring(v) or type(v)
    end
    print('fuzz call ' .. i .. ': ' .. name .. '(' .. table.concat(shown, ', ') .. ')')
end";

/// A state as the kernel makes a softirq one: the default 32 MiB memory
/// cap and the 10,000,000-instruction budget per entry.
fn fuzz_state() -> State {
    let mut s = State::new(32 << 20, 10_000_000).expect("state");
    s.run(SCRIPT).expect("the fuzzer loads");
    if std::env::var_os("LUNATIK_FUZZ_TRACE").is_some() {
        s.run(TRACE).expect("the trace function loads");
    }
    s
}

/// Runs `seeds` seeds from `first`, one `fuzz(seed, CALLS_PER_SEED)` call
/// each, and returns the calls the script reports having made.
fn run_seeds(slot: usize, first: i64, seeds: i64) -> i64 {
    let mut total = 0;
    let mut state = None;
    for seed in first..first + seeds {
        if (seed - first) % SEEDS_PER_STATE == 0 {
            state = Some(fuzz_state());
        }
        let s = state.as_mut().expect("a state");
        IN_FLIGHT[slot].store(seed, Ordering::Relaxed);
        STARTED[slot].store(now_ms().max(1), Ordering::Relaxed);
        let batch = first + (seed - first) / SEEDS_PER_STATE * SEEDS_PER_STATE;
        let replay = format!(
            "replay: LUNATIK_FUZZ_SEED={batch} LUNATIK_FUZZ_CALLS={} \
             cargo test -p lunatik-lua fuzz_tests (seeds {batch}..={seed} in one state)",
            (seed - batch + 1) * CALLS_PER_SEED
        );
        let (made, broken) = s
            .call(
                c"fuzz",
                &[Arg::Int(seed), Arg::Int(CALLS_PER_SEED)],
                |v| match v {
                    [Value::Int(made), Value::Int(_), Value::Nil] => (*made, None),
                    [Value::Int(made), Value::Int(_), Value::Str(e)] => {
                        (*made, Some(String::from_utf8_lossy(e).into_owned()))
                    }
                    other => panic!("fuzz seed {seed}: unexpected results {other:?}\n{replay}"),
                },
            )
            .unwrap_or_else(|e| panic!("fuzz seed {seed} failed: {e}\n{replay}"));
        assert_eq!(broken, None, "fuzz seed {seed}: the fuzzer broke\n{replay}");
        assert_eq!(made, CALLS_PER_SEED, "fuzz seed {seed}\n{replay}");
        // The state still answers after the seed.
        assert_eq!(
            s.eval("return 1 + 1").as_deref(),
            Ok("2"),
            "fuzz seed {seed}\n{replay}"
        );
        total += made;
    }
    STARTED[slot].store(0, Ordering::Relaxed);
    total
}

#[cfg(lunatik_sanitize)]
extern "C" {
    /// The sanitizer runtime's hook, called just before it ends the
    /// process with a report.
    fn __sanitizer_set_death_callback(callback: extern "C" fn());
}

/// Names the seeds being run when a sanitizer kills the process: the test
/// harness cannot print anything after that.
#[cfg(lunatik_sanitize)]
extern "C" fn print_seeds_in_flight() {
    for (slot, seed) in IN_FLIGHT.iter().enumerate() {
        eprintln!(
            "fuzz: thread {slot} was running seed {} (LUNATIK_FUZZ_SEED=N runs from seed N)",
            seed.load(Ordering::Relaxed)
        );
    }
}

#[test]
fn lua_api_fuzzer() {
    #[cfg(lunatik_sanitize)]
    // SAFETY: registering a plain function with no captured state; the
    // runtime calls it once, from the thread that found the error.
    unsafe {
        __sanitizer_set_death_callback(print_seeds_in_flight)
    };
    let calls = env_number("LUNATIK_FUZZ_CALLS", 100_000);
    let first = env_number("LUNATIK_FUZZ_SEED", 1);
    let seeds = (calls + CALLS_PER_SEED - 1) / CALLS_PER_SEED;
    let per_thread = (seeds + THREADS as i64 - 1) / THREADS as i64;
    let start = Instant::now();
    let done = AtomicBool::new(false);
    let made: i64 = std::thread::scope(|scope| {
        scope.spawn(|| watchdog(&done));
        let workers: Vec<_> = (0..THREADS)
            .map(|slot| {
                let from = first + slot as i64 * per_thread;
                let count = per_thread.min(first + seeds - from).max(0);
                scope.spawn(move || run_seeds(slot, from, count))
            })
            .collect();
        let made = workers.into_iter().map(|w| w.join()).collect::<Vec<_>>();
        done.store(true, Ordering::Relaxed);
        made.into_iter()
            .map(|m| m.unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .sum()
    });
    // Straight to the standard error stream, past the harness's capture,
    // so the figures show in every run.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "fuzz: {made} calls, seeds {first}..={}, in {:.1?}",
        first + seeds - 1,
        start.elapsed()
    );
    assert!(made >= calls, "{made} calls made, {calls} asked for");
}

/// A seed replays: the same seed in two fresh states makes the same calls
/// with the same outcomes, so the seed a failure names reproduces it.
#[test]
fn lua_api_fuzzer_replays_a_seed() {
    let run = |seed| {
        fuzz_state()
            .call(c"fuzz", &[Arg::Int(seed), Arg::Int(2000)], |v| match v {
                [Value::Int(2000), Value::Int(sum), Value::Nil] => *sum,
                other => panic!("seed {seed}: unexpected results {other:?}"),
            })
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
    };
    for seed in [7, 1_000_003] {
        assert_eq!(run(seed), run(seed), "seed {seed} gave two different runs");
    }
    assert_ne!(run(7), run(8), "different seeds made the same run");
}
