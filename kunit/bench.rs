// SPDX-License-Identifier: GPL-2.0

//! Benchmarks run inside the VM by `make bench` (KUnit suite
//! `lunatik_bench`), compiled only into the module `make bench` builds
//! (`LUNATIK_BENCH=1`, Kbuild) and run only there. They print figures to
//! the kernel log; only the ratios mean anything under QEMU TCG.

use crate::lua::interp::Arg;
use crate::luadata::data::DataArg;
use crate::luanetfilter::SkbArg;
use crate::states::state::{Config, Context, ResultLimit, State};
use crate::uapi::name::Name;
use kernel::prelude::*;
use kernel::time::{Instant, Monotonic};

mod ffi {
    // Mirrors kunit/baseline.h; keep the two in step.
    extern "C" {
        pub(super) fn lunatik_empty_call();
    }
}

/// Calls per measurement.
const CALLS: i64 = 20_000;

/// Nanoseconds per call of `f`, over `CALLS` calls.
fn per_call(mut f: impl FnMut()) -> i64 {
    let start = Instant::<Monotonic>::now();
    for _ in 0..CALLS {
        f();
    }
    start.elapsed().as_nanos() / CALLS
}

#[kunit_tests(lunatik_bench)]
mod tests {
    use super::*;

    #[test]
    fn idle_state_and_call_cost() -> Result {
        let name = Name::new(b"bench").map_err(|_| EINVAL)?;
        let state = State::new(Config::new(name, Context::Process, &crate::RUNTIME))?;
        let idle = state.stats().memory_used;
        pr_info!("bench: idle state with standard libraries: {idle} bytes\n");

        assert!(state
            .run(b"function f() end", c"=bench", ResultLimit::ALL)
            .is_ok());
        let mut failures = 0;
        // Warm the caches and the allocator before measuring.
        for _ in 0..1000 {
            failures += usize::from(state.call(c"f", &[], |_| ()).is_err());
        }
        // SAFETY: the shim takes no arguments and touches nothing.
        let c_ns = per_call(|| unsafe { ffi::lunatik_empty_call() });
        let lua_ns = per_call(|| failures += usize::from(state.call(c"f", &[], |_| ()).is_err()));
        assert_eq!(failures, 0);
        // Tenths of the ratio, as the kernel prints no floats.
        let tenths = lua_ns * 10 / c_ns.max(1);
        pr_info!(
            "bench: empty Lua function {lua_ns} ns/call, empty C function {c_ns} ns/call, ratio {}.{}\n",
            tenths / 10,
            tenths % 10
        );
        Ok(())
    }

    #[test]
    fn call_with_packet_views() -> Result {
        let name = Name::new(b"bench-views").map_err(|_| EINVAL)?;
        let state = State::new(Config::new(name, Context::Softirq, &crate::RUNTIME))?;
        assert!(state
            .run(b"function f(x) return 1 end", c"=bench", ResultLimit::ALL)
            .is_ok());
        let packet = KVec::from_elem(0u8, 64, GFP_KERNEL)?;
        let mark = core::cell::Cell::new(None);
        let skb_arg = SkbArg {
            net: DataArg::read_only(&packet),
            mac: None,
            len: 64,
            ifindex: 1,
            mark: 0,
            new_mark: &mark,
            ops: None,
        };
        let skb = || Arg::Lent(&skb_arg);
        let mut failures = 0;
        for _ in 0..1000 {
            failures += usize::from(state.call(c"f", &[skb()], |_| ()).is_err());
        }
        let plain = per_call(|| failures += usize::from(state.call(c"f", &[], |_| ()).is_err()));
        let view = per_call(|| {
            failures += usize::from(
                state
                    .call(c"f", &[Arg::Lent(&DataArg::read_only(&packet))], |_| ())
                    .is_err(),
            )
        });
        let with_skb =
            per_call(|| failures += usize::from(state.call(c"f", &[skb()], |_| ()).is_err()));
        assert_eq!(failures, 0);
        pr_info!(
            "bench: softirq state call: no argument {plain} ns, a data view {view} ns, an skb {with_skb} ns\n"
        );
        Ok(())
    }
}
