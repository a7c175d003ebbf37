//! `lunatik-lua-bench SCRIPT...`: the CPU-bound part of `make bench`.
//! Runs each script in the host build of the project's Lua (this crate),
//! then in a kernel state through `lunatik exec STATE SCRIPT` (STATE from
//! `LUNATIK_BENCH_STATE`, default `cpu`), in the same (virtual) machine,
//! best of three each, and prints one line per script:
//! `NAME HOST_NS KERNEL_NS`. The kernel figure has the cost of an empty
//! `lunatik exec` (best of three) taken off, so it counts the Lua work.
//!
//! `lunatik-lua-bench --calls [N [CASE...]]` measures the packet path's
//! call on the host alone: N calls (default 2,000,000) each of a stored
//! callback that is empty (`empty`), a trivial hook and a header-reading
//! hook given an `skb` (`trivial`, `header`), and an XDP-like callback
//! given two kept `data` views (`xdp`), as the kernel calls them
//! (`interp::call`, `Callee::Callback`); it prints nanoseconds per call, best
//! of three rounds. Under `valgrind --tool=callgrind` the difference
//! between two values of N, over three times their difference, gives
//! exact instructions per call (docs/bench.md).

use lunatik_lua::data::DataArg;
use lunatik_lua::interp::{Arg, Callee};
use lunatik_lua::skb::SkbArg;
use lunatik_lua::State;
use std::cell::Cell;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Same limits as a kernel `process` state by default (states/state.rs).
const MEMORY: usize = 32 << 20;
const BUDGET: u64 = 100_000_000;
const ROUNDS: usize = 3;

fn best(mut f: impl FnMut() -> Result<(), String>) -> Result<u128, String> {
    let mut best = u128::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed().as_nanos());
    }
    Ok(best)
}

fn exec(state: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new("lunatik")
        .arg("exec")
        .arg(state)
        .args(args)
        .output()
        .map_err(|e| format!("lunatik exec: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The callbacks of `--calls`: the hooks of the VM bench, and an XDP one.
const CALLBACKS: &str = "function empty() end
function trivial(skb) return 1 end
function header(skb)
    local d = skb:data('net')
    local v, ttl, proto = d:getuint8(0), d:getuint8(8), d:getuint8(9)
    if v == 0 and ttl == 0 and proto == 0 then return 0 end
    return 1
end
function xdp(packet, arg) return 2 end";

/// Registry keys of the two kept views of the XDP-like calls.
static VIEWS: [u8; 2] = [0; 2];

/// `--calls N [CASE...]`: nanoseconds per call of each callback (all, or
/// those named), best of three.
fn calls(n: u32, cases: &[String]) -> Result<(), String> {
    let want = |name: &str| cases.is_empty() || cases.iter().any(|c| c == name);
    let mut s = State::new(MEMORY, BUDGET)?;
    s.run(CALLBACKS)?;
    let mut id = |name: &std::ffi::CStr| s.store_global(name).map(Callee::Callback);
    let (empty, trivial, header, xdp) =
        (id(c"empty")?, id(c"trivial")?, id(c"header")?, id(c"xdp")?);
    // An IPv4 header of a UDP datagram.
    let ip = [
        0x45u8, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mark = Cell::new(None);
    let mut frame = [0u8; 64];
    let mut timed = |name: &str, f: &mut dyn FnMut(&mut State) -> Result<(), String>| {
        if !want(name) {
            return Ok(());
        }
        let mut best = f64::MAX;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..n {
                f(&mut s)?;
            }
            best = best.min(start.elapsed().as_nanos() as f64 / f64::from(n.max(1)));
        }
        println!("{name} {best:.1}");
        Ok::<(), String>(())
    };
    timed("empty", &mut |s| s.call_callee(empty, &[], |_| ()))?;
    for (name, callee) in [("trivial", trivial), ("header", header)] {
        timed(name, &mut |s| {
            let skb = SkbArg {
                net: DataArg::read_only(&ip),
                mac: None,
                len: ip.len() as i64,
                ifindex: 1,
                mark: 0,
                new_mark: &mark,
                ops: None,
            };
            s.call_callee(callee, &[Arg::Lent(&skb)], |_| ())
        })?;
    }
    timed("xdp", &mut |s| {
        let mut arg = [0u8; 4];
        let (packet, arg) = (
            DataArg::writable(&mut frame).kept(&VIEWS[0]),
            DataArg::writable(&mut arg).kept(&VIEWS[1]),
        );
        s.call_callee(xdp, &[Arg::Lent(&packet), Arg::Lent(&arg)], |_| ())
    })
}

fn run() -> Result<(), String> {
    let scripts: Vec<String> = std::env::args().skip(1).collect();
    if scripts.first().is_some_and(|a| a == "--calls") {
        let n = match scripts.get(1) {
            Some(n) => n
                .parse()
                .map_err(|_| format!("--calls: not a count: {n}"))?,
            None => 2_000_000,
        };
        return calls(n, &scripts[2..]);
    }
    if scripts.is_empty() {
        return Err("usage: lunatik-lua-bench SCRIPT...".into());
    }
    let state = std::env::var("LUNATIK_BENCH_STATE").unwrap_or_else(|_| "cpu".into());
    let empty = best(|| exec(&state, &["-e", "return"]))?;
    for path in &scripts {
        let src = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let mut host = State::new(MEMORY, BUDGET)?;
        let host_ns = best(|| host.run(&src).map(drop))?;
        let kernel_ns = best(|| exec(&state, &[path]))?.saturating_sub(empty);
        let name = std::path::Path::new(path)
            .file_stem()
            .map_or_else(|| path.clone(), |s| s.to_string_lossy().into_owned());
        println!("{name} {host_ns} {kernel_ns}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunatik-lua-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
