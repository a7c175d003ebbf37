//! `vmtest`: the verdict on a selftest run of the VM.
//!
//! `selftests/run-vm.sh` boots the VM once per suite. Each boot writes KTAP
//! results to one serial port and the kernel console to another (see
//! `selftests/init`), and the runner lists the boots in `runs.tsv`
//! (see [`run`]).
//!
//! - `vmtest RUNS_TSV` judges the whole run: it passes only if every
//!   planned test of every boot reported `ok`, every boot reached the end
//!   of its suite within its limit, and no console holds a kernel warning,
//!   BUG, oops, sanitizer, lockdep or stall report. It prints one line per
//!   test, the time report, and last `N passed, N failed` (plus
//!   `, N skipped`); the exit status is 0 only when nothing failed.
//! - `vmtest boot-report CONSOLE_LOG` tells the runner whether the kernel
//!   reported a problem before the suites started (exit 0, and the reports
//!   are printed) or not (exit 1): such a boot is thrown away and booted
//!   again, and the final verdict shows what it reported.

mod console;
mod ktap;
mod run;
mod verdict;

use std::path::Path;
use std::process::ExitCode;

fn read(path: &str) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("vmtest: cannot read {path}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, console_path] if cmd == "boot-report" => {
            let text = match read(console_path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let reports = console::boot_reports(&text);
            for f in &reports {
                println!("{}: {}: {}", f.line_no, f.kind, f.line);
            }
            if reports.is_empty() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        [runs_path] => {
            let runs = match read(runs_path).and_then(|t| run::parse(&t, Path::new(runs_path))) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let v = verdict::judge_runs(&runs);
            for line in &v.lines {
                println!("{line}");
            }
            println!("{}", v.summary());
            if v.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: vmtest RUNS_TSV | vmtest boot-report CONSOLE_LOG");
            ExitCode::from(2)
        }
    }
}
