//! `vmtest KTAP_LOG CONSOLE_LOG`: the verdict on one selftest VM run.
//!
//! The VM writes KTAP results to one serial port and the kernel console to
//! another (see `selftests/init`). The run passes only if every planned test
//! reported `ok`, the VM reached the end of the suites, and the console holds
//! no kernel warning, BUG, oops, sanitizer, lockdep or stall report.
//! The last line printed is `N passed, N failed` (plus `, N skipped`); the
//! exit status is 0 only when nothing failed.

mod console;
mod ktap;
mod verdict;

use std::process::ExitCode;

fn read(path: &str) -> String {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            eprintln!("vmtest: cannot read {path}: {e}");
            String::new()
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ktap_path, console_path] = args.as_slice() else {
        eprintln!("usage: vmtest KTAP_LOG CONSOLE_LOG");
        return ExitCode::from(2);
    };
    let v = verdict::judge(&read(ktap_path), &read(console_path), console_path);
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
