//! `lunatik-lua-bench SCRIPT...`: the CPU-bound part of `make bench`.
//! Runs each script in the host build of the project's Lua (this crate),
//! then in a kernel state through `lunatik exec STATE SCRIPT` (STATE from
//! `LUNATIK_BENCH_STATE`, default `cpu`), in the same (virtual) machine,
//! best of three each, and prints one line per script:
//! `NAME HOST_NS KERNEL_NS`. The kernel figure has the cost of an empty
//! `lunatik exec` (best of three) taken off, so it counts the Lua work.

use lunatik_lua::State;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Same limits as a kernel `process` state by default (rust/state.rs).
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

fn run() -> Result<(), String> {
    let scripts: Vec<String> = std::env::args().skip(1).collect();
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
