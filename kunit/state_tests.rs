// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of Lua states inside the kernel (suite `lunatik_state`).
//!
//! They run when the module loads with KUnit enabled and their suite
//! selected (`selftests/suites/02-state.sh` selects it); the KTAP results
//! reach the host runner through debugfs.

use crate::glue::cpu;
use crate::glue::net::NetRef;
use crate::lua::interp::{Arg, Value};
use crate::luadata::data::DataArg;
use crate::states::registry::Registry;
use crate::states::replica::{live_replicas, ErrorKind, RunError, DEFERRED_MAX};
use crate::states::softirq_index;
use crate::states::state::{Config, Context, ResultLimit, State};
use crate::uapi::name::Name;
use kernel::prelude::*;
use kernel::sync::Arc;

fn name(s: &str) -> Result<Name> {
    Name::new(s.as_bytes()).map_err(|_| EINVAL)
}

fn state(s: &str, context: Context, tweak: impl FnOnce(&mut Config)) -> Result<Arc<State>> {
    let mut config = Config::new(name(s)?, context, &crate::RUNTIME);
    tweak(&mut config);
    State::new(config)
}

/// Runs `src` and returns its results joined by commas.
fn eval(state: &State, src: &str) -> Result<KVec<u8>, RunError> {
    let values = state.run(src.as_bytes(), c"=test", ResultLimit::ALL)?;
    let mut out = KVec::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            let _ = out.push(b',', GFP_KERNEL);
        }
        let _ = out.extend_from_slice(v, GFP_KERNEL);
    }
    Ok(out)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Runs `src`, which must fail with `kind` and a message holding `needle`.
fn fails(state: &State, src: &str, kind: ErrorKind, needle: &str) -> bool {
    match eval(state, src) {
        Ok(_) => false,
        Err(e) => e.kind == kind && contains(&e.message, needle),
    }
}

#[kunit_tests(lunatik_state)]
mod tests {
    use super::*;

    #[test]
    fn returns_42() -> Result {
        let s = state("answer", Context::Process, |_| ())?;
        assert_eq!(eval(&s, "return 6*7").map_err(|e| e.kind.errno())?, b"42");
        Ok(())
    }

    #[test]
    fn numbers_are_integers() -> Result {
        let s = state("integers", Context::Process, |_| ())?;
        let got = eval(
            &s,
            "return 7/2, -7/2, 7//2, 2^10, math.type(7/2), math.maxinteger + 1 == math.mininteger",
        )
        .map_err(|e| e.kind.errno())?;
        assert_eq!(got, b"3,-4,3,1024,integer,true");
        assert!(fails(
            &s,
            "return 1.5",
            ErrorKind::Syntax,
            "malformed number (numbers are integers only)"
        ));
        assert!(fails(
            &s,
            "return 1/0",
            ErrorKind::Runtime,
            "attempt to divide by zero"
        ));
        assert!(fails(
            &s,
            "local z = 0 return 1 % z",
            ErrorKind::Runtime,
            "attempt to perform 'n%0'"
        ));
        assert!(fails(
            &s,
            "return string.format('%f', 1)",
            ErrorKind::Runtime,
            "invalid conversion"
        ));
        Ok(())
    }

    #[test]
    fn errors_carry_location_and_traceback() -> Result {
        let s = state("errors", Context::Process, |_| ())?;
        assert!(fails(
            &s,
            "local x = \n  foo(",
            ErrorKind::Syntax,
            "test:2:"
        ));
        assert!(fails(
            &s,
            "local function f() error('boom') end f()",
            ErrorKind::Runtime,
            "test:1: boom"
        ));
        assert!(fails(
            &s,
            "local function f() error('boom') end f()",
            ErrorKind::Runtime,
            "stack traceback"
        ));
        let tb = eval(&s, "return debug.traceback('here')");
        assert!(tb.is_ok_and(|t| contains(&t, "here\nstack traceback:")));
        let stats = s.stats();
        assert_eq!(stats.errors, 3);
        assert!(contains(stats.last_error(), "test:1: boom"));
        Ok(())
    }

    #[test]
    fn states_are_isolated_and_named_uniquely() -> Result {
        let registry = Registry::new()?;
        let config = |s| Ok::<_, Error>(Config::new(name(s)?, Context::Process, &crate::RUNTIME));
        let a = registry.create(config("a")?)?;
        let b = registry.create(config("b")?)?;
        assert!(eval(&a, "x = 1").is_ok());
        assert_eq!(eval(&a, "return x").map_err(|e| e.kind.errno())?, b"1");
        assert_eq!(eval(&b, "return x").map_err(|e| e.kind.errno())?, b"nil");
        assert_eq!(registry.create(config("a")?).err(), Some(EEXIST));
        assert!(registry.get(&name("b")?).is_some());
        assert!(registry.remove(&name("b")?).is_ok());
        assert!(registry.get(&name("b")?).is_none());
        assert_eq!(registry.remove(&name("b")?).err(), Some(ENOENT));
        // A reference taken before removal keeps the state usable.
        assert_eq!(eval(&b, "return 1").map_err(|e| e.kind.errno())?, b"1");
        Ok(())
    }

    #[test]
    fn budget_stops_endless_loop_and_state_survives() -> Result {
        let s = state("budget", Context::Process, |c| c.budget = 100_000)?;
        assert!(fails(
            &s,
            "while true do end",
            ErrorKind::Budget,
            "instruction budget exceeded"
        ));
        assert!(fails(
            &s,
            "while true do pcall(function() while true do end end) end",
            ErrorKind::Budget,
            "instruction budget exceeded"
        ));
        assert_eq!(s.stats().budget_kills, 2);
        assert_eq!(eval(&s, "return 1 + 1").map_err(|e| e.kind.errno())?, b"2");
        let err = s.call(c"nope", &[], |_| ()).err().map(|e| e.kind);
        assert_eq!(err, Some(ErrorKind::Runtime));
        assert!(eval(&s, "function spin() while true do end end").is_ok());
        let err = s.call(c"spin", &[], |_| ()).err().map(|e| e.kind);
        assert_eq!(err, Some(ErrorKind::Budget));
        Ok(())
    }

    #[test]
    fn memory_cap_fails_allocation_and_state_recovers() -> Result {
        let cap = 256 * 1024;
        let s = state("memory", Context::Process, |c| c.memory = cap)?;
        let idle = s.stats().memory_used;
        assert!(fails(
            &s,
            "local t = {} for i = 1, 1 << 40 do t[i] = tostring(i) end",
            ErrorKind::Memory,
            "not enough memory"
        ));
        let stats = s.stats();
        assert!(stats.alloc_failures > 0);
        assert!(stats.memory_peak <= cap);
        for _ in 0..4 {
            s.collect();
        }
        let used = s.stats().memory_used;
        pr_info!("memory test: idle {idle} bytes, {used} after the cap and collection\n");
        assert!(used < idle + 16 * 1024);
        assert_eq!(eval(&s, "return 6 * 7").map_err(|e| e.kind.errno())?, b"42");
        Ok(())
    }

    #[test]
    fn hundred_states_leave_no_leak() -> Result {
        let before = live_replicas();
        let registry = Registry::new()?;
        for i in 0..100 {
            let label = [b'l', b'-', b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
            let context = if i % 2 == 1 {
                Context::Softirq
            } else {
                Context::Process
            };
            let label = Name::new(&label).map_err(|_| EINVAL)?;
            let config = Config::new(label, context, &crate::RUNTIME);
            let s = registry.create(config)?;
            assert!(eval(&s, "t = {} for i = 1, 100 do t[i] = ('x'):rep(i) end").is_ok());
        }
        assert_eq!(registry.len(), 100);
        assert_eq!(live_replicas(), before + 100);
        registry.clear();
        assert_eq!(registry.len(), 0);
        assert_eq!(live_replicas(), before);
        Ok(())
    }

    #[test]
    fn a_removal_without_memory_keeps_the_other_softirq_states_indexed() -> Result {
        // Issue 22, finding 4: a removal whose copy of the index failed
        // used to publish an empty index, and the XDP kfuncs then found no
        // softirq state of any namespace.
        let registry = Registry::new()?;
        let config = |s| Ok::<_, Error>(Config::new(name(s)?, Context::Softirq, &crate::RUNTIME));
        // Whether the index finds `s` under `n`.
        let finds = |n: &str, s: &State| {
            softirq_index::with(NetRef::init(), n.as_bytes(), |x| core::ptr::eq(x, s)) == Some(true)
        };
        let absent = |n: &str| softirq_index::with(NetRef::init(), n.as_bytes(), |_| ()).is_none();
        let a = registry.create(config("idx-a")?)?;
        let b = registry.create(config("idx-b")?)?;
        let c = registry.create(config("idx-c")?)?;
        let all_found = finds("idx-a", &a) && finds("idx-b", &b) && finds("idx-c", &c);
        // Every allocation of the index fails meanwhile. The results are
        // checked only once the switch is off and the registry empty, as
        // a failed assertion ends the test.
        softirq_index::fail_allocations(true);
        let removed = registry.remove(&name("idx-b")?).is_ok();
        let refused = registry.create(config("idx-d")?).err();
        softirq_index::fail_allocations(false);
        let b_gone = absent("idx-b");
        let others_kept = finds("idx-a", &a) && finds("idx-c", &c);
        pr_info!("index test: b removed {removed}, gone {b_gone}; a and c kept {others_kept}\n");
        // The cleared entry makes no false EEXIST; the name is usable again.
        let again = registry.create(config("idx-b")?);
        let b_again = again.as_ref().is_ok_and(|s| finds("idx-b", s));
        drop(again);
        registry.clear();
        let all_gone = absent("idx-a") && absent("idx-b") && absent("idx-c") && absent("idx-d");
        assert!(all_found);
        assert!(removed);
        assert_eq!(refused, Some(ENOMEM));
        assert!(b_gone);
        assert!(others_kept);
        assert!(b_again);
        assert!(all_gone);
        Ok(())
    }

    #[test]
    fn percpu_state_has_a_loaded_replica_per_possible_cpu() -> Result {
        let s = state("percpu", Context::Softirq, |c| c.percpu = true)?;
        assert_eq!(s.replicas(), cpu::possible_cpus() as usize);
        assert!(eval(&s, "loaded = 7 n = (n or 0) + 1").is_ok());
        for i in 0..s.replicas() {
            let mut got = KVec::new();
            let ran = s.run_in(i, b"return loaded * 10 + n", c"=test", |v| {
                got.extend_from_slice(v, GFP_ATOMIC)?;
                Ok(())
            });
            assert!(ran.is_ok());
            assert_eq!(got, b"71");
        }
        Ok(())
    }

    #[test]
    fn softirq_state_calls_functions_without_sleeping() -> Result {
        // Under the bh-disabling lock every allocation must be atomic;
        // CONFIG_DEBUG_ATOMIC_SLEEP reports any that could sleep.
        // An unbounded budget, or one past the softirq maximum, is refused.
        assert_eq!(
            state("softirq", Context::Softirq, |c| c.budget = 0).err(),
            Some(EINVAL)
        );
        let big = state("softirq", Context::Softirq, |c| c.budget = 1 << 40).err();
        assert_eq!(big, Some(EINVAL));
        // Nor is a softirq state without a memory cap, even when asked.
        let uncapped = state("softirq", Context::Softirq, |c| {
            c.memory = 0;
            c.unlimited = true;
        });
        assert_eq!(uncapped.err(), Some(EINVAL));
        let s = state("softirq", Context::Softirq, |_| ())?;
        // Reachable from the packet path, as with a hook: entries hold the
        // bh spinlock and meet the softirq deadlines.
        s.expose();
        // The deadline or the budget, whichever comes first, stops it.
        assert!(fails(
            &s,
            "while true do end",
            ErrorKind::Budget,
            "exceeded"
        ));
        let longest = s.stats().longest_entry_ns;
        pr_info!("softirq runaway loop stopped after {longest} ns\n");
        assert!(longest > 0);
        // Kept small: softirq calls have a 50 ms deadline, and on this
        // kernel (KASAN, kmemleak, lockdep, under emulation) an
        // allocation can take a millisecond.
        assert!(eval(&s, "function f(a, b, c) t = {} for i = 1, 20 do t[i] = c:rep(i % 50) end return a * b, #t end").is_ok());
        let got = s.call(c"f", &[Arg::Int(6), Arg::Int(7), Arg::Str(b"ab")], |r| {
            (
                r.len(),
                r.get(0) == Value::Int(42),
                r.get(1) == Value::Int(20),
            )
        });
        assert_eq!(got.map_err(|e| e.kind.errno())?, (2, true, true));
        Ok(())
    }

    #[test]
    fn deferred_work_is_bounded_charged_and_merged() -> Result {
        // Packet callbacks queue deferred work that only the next chunk
        // of the control plane does (issue 22, finding 3): the queue is
        // bounded, charged to the memory cap, and a call that repeats the
        // last one queued (`xdp.detach()` twice) queues nothing.
        let s = state("kunit-deferred", Context::Softirq, |_| ())?;
        assert!(eval(
            &s,
            "xdp = require('xdp')
            function detach(n) for i = 1, n do xdp.detach() end end
            function churn(n) for i = 1, n do xdp.attach(churn) xdp.detach() end end
            detach(1) collectgarbage()"
        )
        .is_ok());
        assert_eq!(s.deferred(), 0);
        s.expose();
        let before = s.stats().memory_used;
        // A thousand detaches, called as a packet callback is: one
        // operation queued, and charged.
        assert!(s.call(c"detach", &[Arg::Int(1000)], |_| ()).is_ok());
        assert_eq!(s.deferred(), 1);
        let after = s.stats().memory_used;
        let one = after - before;
        pr_info!("one deferred operation is charged {one} bytes\n");
        // The charge, and at most a call frame Lua may have made.
        assert!(one > 0 && one < 512);
        // A thousand more: merged into the queued one, nothing charged.
        assert!(s.call(c"detach", &[Arg::Int(1000)], |_| ()).is_ok());
        assert_eq!(s.deferred(), 1);
        assert!(s.stats().memory_used <= after);
        // Alternating work is queued up to the bound, then refused with
        // a Lua error that says why.
        let churned = s.call(c"churn", &[Arg::Int(1000)], |_| ());
        let refused = match churned {
            Err(e) => contains(&e.message, "too much deferred work"),
            Ok(()) => false,
        };
        assert!(refused);
        assert_eq!(s.deferred(), DEFERRED_MAX);
        // Again: nothing more is queued.
        assert!(s.call(c"churn", &[Arg::Int(1000)], |_| ()).is_err());
        assert_eq!(s.deferred(), DEFERRED_MAX);
        let last = s.stats();
        assert!(contains(last.last_error(), "too much deferred work"));
        // A chunk of the control plane does the work and gives the charge
        // back (a charge left over would trip the warning `Replica` gives
        // for a nonzero account when it closes, below).
        assert!(eval(&s, "return 1").is_ok());
        assert_eq!(s.deferred(), 0);
        // A state dropped with work still queued gives its charge back
        // too (`Replica` warns on a nonzero account when it closes).
        assert!(s.call(c"detach", &[Arg::Int(1)], |_| ()).is_ok());
        assert_eq!(s.deferred(), 1);
        drop(s);
        Ok(())
    }

    #[test]
    fn zero_limits_need_the_unlimited_flag() -> Result {
        let no_cap = state("zero", Context::Process, |c| c.memory = 0).err();
        assert_eq!(no_cap, Some(EINVAL));
        let no_budget = state("zero", Context::Process, |c| c.budget = 0).err();
        assert_eq!(no_budget, Some(EINVAL));
        let s = state("zero", Context::Process, |c| {
            c.memory = 0;
            c.budget = 0;
            c.unlimited = true;
        })?;
        assert_eq!(eval(&s, "return 6*7").map_err(|e| e.kind.errno())?, b"42");
        Ok(())
    }

    #[test]
    fn finalizers_cannot_hang_a_softirq_state() -> Result {
        let s = state("finalizer", Context::Softirq, |_| ())?;
        s.expose();
        assert!(fails(
            &s,
            "setmetatable({}, {__gc = function() while true do end end}) collectgarbage()",
            ErrorKind::Budget,
            "exceeded"
        ));
        // Left for the collector and for the close below.
        eval(
            &s,
            "x = setmetatable({}, {__gc = function() while true do end end})",
        )
        .map_err(|e| e.kind.errno())?;
        s.collect();
        eval(
            &s,
            "y = setmetatable({}, {__gc = function() while true do end end})",
        )
        .map_err(|e| e.kind.errno())?;
        drop(s);
        Ok(())
    }

    #[test]
    fn deep_nesting_ends_in_a_lua_error() -> Result {
        let s = state("nesting", Context::Process, |_| ())?;
        let mut deep = KVec::new();
        for _ in 0..1000 {
            deep.extend_from_slice(b"(", GFP_KERNEL)?;
        }
        deep.extend_from_slice(b"1", GFP_KERNEL)?;
        for _ in 0..1000 {
            deep.extend_from_slice(b")", GFP_KERNEL)?;
        }
        let mut src = KVec::new();
        src.extend_from_slice(b"return ", GFP_KERNEL)?;
        src.extend_from_slice(&deep, GFP_KERNEL)?;
        let err = s.run(&src, c"=test", ResultLimit::ALL).err();
        assert!(err.is_some_and(|e| contains(&e.message, "overflow")));
        let scripts = [
            "local function f() local ok, e = pcall(f) if not ok then error(e, 0) end end f()",
            "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
            "local function f(s) return (s:gsub('.', f)) end return f('ab')",
            "local t = {3, 1, 2} local function c(a, b) table.sort(t, c) return a < b end table.sort(t, c)",
            "local function f() return coroutine.wrap(f)() end return f()",
            "local function f() return tostring(setmetatable({}, {__tostring = f})) end return f()",
            "local s = 'return ' .. ('{'):rep(300) .. ('}'):rep(300) return assert(load(s))()",
        ];
        for src in scripts {
            let err = eval(&s, src).err();
            if let Some(e) = &err {
                pr_info!(
                    "nesting test: {:.60}...\n",
                    kernel::str::BStr::from_bytes(&e.message)
                );
            }
            assert!(err.is_some_and(|e| contains(&e.message, "C stack overflow")
                || contains(&e.message, "error in error handling")));
        }
        // The reserve serves the first overflow of an entry only: a second
        // one fails at once, without running a handler in the reserve.
        let v = eval(
            &s,
            "local t = setmetatable({}, {__index = function(t, k) return t[k] end})
             local _, e1 = pcall(function() return t.x end)
             local _, e2 = pcall(function() return t.x end)
             return e1, e2",
        )
        .map_err(|e| e.kind.errno())?;
        assert!(contains(&v, "C stack overflow"));
        assert!(contains(&v, "error in error handling"));
        // Measured at Lua's checks, no entry went deeper than its budget
        // plus the handler's reserve, plus one check's worth of frames.
        let deepest = s.stats().deepest_stack;
        pr_info!(
            "nesting test: deepest C stack use {} bytes (budget {}, reserve {})\n",
            deepest,
            crate::states::replica::ENTRY_CSTACK,
            crate::states::replica::ENTRY_CSTACK_RESERVE
        );
        assert!(
            deepest > 0
                && deepest
                    <= crate::states::replica::ENTRY_CSTACK
                        + crate::states::replica::ENTRY_CSTACK_RESERVE
                        + 1024
        );
        // A long concatenation compiles within the limits or fails cleanly.
        let _ = eval(
            &s,
            "return load('return ' .. ('\"a\" .. '):rep(5000) .. '\"a\"')()",
        );
        assert_eq!(eval(&s, "return 1").map_err(|e| e.kind.errno())?, b"1");
        Ok(())
    }

    #[test]
    fn print_writes_to_the_kernel_log() -> Result {
        // selftests/suites/02-state.sh finds this line in the kernel log.
        let s = state("kunit-print", Context::Process, |_| ())?;
        assert!(eval(&s, "print('hello', 42, nil)").is_ok());
        Ok(())
    }

    #[test]
    fn kernel_memory_views_are_bounded_read_only_and_detached() -> Result {
        // A softirq state, as a packet hook would use: the view is made
        // and detached with bottom halves off.
        let s = state("views", Context::Softirq, |_| ())?;
        assert!(eval(
            &s,
            "function peek(d) kept = d return #d, d:getuint8(3), d:getstring(0, 2) end
             function poke(d) d:setbyte(0, 1) end
             function over(d) return d:getuint16(3) end"
        )
        .is_ok());
        let packet = KVec::from_elem(7u8, 4, GFP_KERNEL)?;
        let got = s.call(c"peek", &[Arg::Lent(&DataArg::read_only(&packet))], |r| {
            (
                r.get(0) == Value::Int(4),
                r.get(1) == Value::Int(7),
                r.get(2) == Value::Str(b"\x07\x07"),
            )
        });
        assert_eq!(got.map_err(|e| e.kind.errno())?, (true, true, true));
        // Kept past the call, the view is empty: no stale kernel memory.
        assert_eq!(
            eval(&s, "return #kept, tostring(kept)").map_err(|e| e.kind.errno())?,
            b"0,"
        );
        assert!(fails(
            &s,
            "return kept:getbyte(0)",
            ErrorKind::Runtime,
            "out of bounds"
        ));
        // Writes to a read-only view fail; reads past the end fail.
        let err = s.call(c"poke", &[Arg::Lent(&DataArg::read_only(&packet))], |_| ());
        assert!(err.is_err_and(|e| contains(&e.message, "read only")));
        let err = s.call(c"over", &[Arg::Lent(&DataArg::read_only(&packet))], |_| ());
        assert!(err.is_err_and(|e| contains(&e.message, "out of bounds")));
        assert_eq!(&packet[..], &[7, 7, 7, 7]);
        Ok(())
    }
}
