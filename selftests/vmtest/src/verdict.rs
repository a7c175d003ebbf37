//! The verdict on a selftest run: each boot's KTAP log and console log,
//! then the time report.

use crate::console;
use crate::ktap::{self, Outcome};
use crate::run::{self, Run};

/// Marker the VM's init prints after the last suite.
pub const DONE_MARKER: &str = "# lunatik-selftests: done";
/// Console lines shown when the VM did not finish.
const TAIL_LINES: usize = 40;
/// Diagnostic lines shown under a failed test (the last ones printed).
const DIAGNOSTIC_LINES: usize = 30;
/// Console lines shown after each kernel report.
const CONTEXT_LINES: usize = 12;

/// What a run amounted to: the lines to print and the totals.
#[derive(Debug, Default)]
pub struct Verdict {
    /// One line per test, then one block per console finding.
    pub lines: Vec<String>,
    /// Tests that reported `ok`.
    pub passed: usize,
    /// Failed tests, missing results, console reports, an unfinished VM.
    pub failed: usize,
    /// Tests that reported `# SKIP`.
    pub skipped: usize,
}

impl Verdict {
    /// The closing line: `N passed, N failed` (plus `, N skipped`).
    pub fn summary(&self) -> String {
        if self.skipped > 0 {
            format!(
                "{} passed, {} failed, {} skipped",
                self.passed, self.failed, self.skipped
            )
        } else {
            format!("{} passed, {} failed", self.passed, self.failed)
        }
    }
}

/// What the verdict needs to know of a boot besides its logs.
#[derive(Debug, Clone, Copy)]
pub struct Boot<'a> {
    /// The suite the boot ran.
    pub suite: &'a str,
    /// Whether its time limit killed the VM.
    pub timed_out: bool,
    /// How long it ran, in seconds.
    pub seconds: u64,
    /// Its time limit, in seconds.
    pub limit_s: u64,
}

impl Verdict {
    /// Adds another boot's verdict to this one.
    fn absorb(&mut self, other: Verdict) {
        self.lines.extend(other.lines);
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// Reads a log; a missing log reads as empty, which the verdict then fails
/// (no results, no end marker).
fn read(path: &std::path::Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Judges every boot of a run, in order, then appends the time report.
pub fn judge_runs(runs: &[Run]) -> Verdict {
    let mut v = Verdict::default();
    for r in runs {
        for n in 1..=r.retries {
            let name = format!("boot-{n}.console.log");
            let path = r.log(&name);
            let text = read(&path);
            let lines: Vec<&str> = text.lines().collect();
            v.lines.push(format!(
                "NOTE {}: boot {n} was thrown away and the suite booted again: the kernel \
                 reported a problem before the suites started, when nothing of lunatik was \
                 loaded ({})",
                r.suite,
                path.display()
            ));
            for f in console::boot_reports(&text) {
                v.lines
                    .push(format!("    {}: {} at line {}", r.suite, f.kind, f.line_no));
                for l in lines.iter().skip(f.line_no - 1).take(CONTEXT_LINES) {
                    v.lines.push(format!("    | {l}"));
                }
            }
        }
        let console_path = r.log("console.log");
        let boot = Boot {
            suite: &r.suite,
            timed_out: r.timed_out,
            seconds: r.seconds,
            limit_s: r.limit_s,
        };
        v.absorb(judge(
            &read(&r.log("ktap.log")),
            &read(&console_path),
            &console_path.display().to_string(),
            &boot,
        ));
    }
    if runs.is_empty() {
        v.failed += 1;
        v.lines.push("FAIL vm: no suite was run".into());
    }
    v.lines.push(String::new());
    v.lines
        .push("Time per suite (each suite boots the VM once, under its own limit):".into());
    v.lines.extend(run::time_report(runs));
    v
}

/// Judges one boot; `console_name` is used to point at console lines.
pub fn judge(ktap_text: &str, console_text: &str, console_name: &str, boot: &Boot) -> Verdict {
    let mut v = Verdict::default();
    let report = ktap::parse(ktap_text);
    for t in &report.tests {
        v.lines.push(match t.outcome {
            Outcome::Pass => format!("PASS {}", t.name),
            Outcome::Skip => format!("SKIP {} ({})", t.name, t.reason),
            Outcome::Fail => format!("FAIL {}: {}", t.name, t.reason),
        });
        if t.outcome == Outcome::Fail {
            let start = t.diagnostics.len().saturating_sub(DIAGNOSTIC_LINES);
            for d in &t.diagnostics[start..] {
                v.lines.push(format!("    # {d}"));
            }
        }
    }
    v.passed = report.count(Outcome::Pass);
    v.skipped = report.count(Outcome::Skip);
    v.failed = report.count(Outcome::Fail);

    let console_lines: Vec<&str> = console_text.lines().collect();
    // Without the marker (a log of a boot that never started the suites)
    // no line can be placed before or after it.
    let start = console::start_line(console_text).unwrap_or(0);
    for f in console::scan(console_text) {
        v.failed += 1;
        let when = if f.line_no < start {
            " (before the suites started)"
        } else {
            ""
        };
        v.lines.push(format!(
            "FAIL console: {}{when} at {console_name}:{}",
            f.kind, f.line_no
        ));
        for l in console_lines.iter().skip(f.line_no - 1).take(CONTEXT_LINES) {
            v.lines.push(format!("    | {l}"));
        }
    }

    if !ktap_text.lines().any(|l| l.trim_end() == DONE_MARKER) {
        v.failed += 1;
        v.lines.push(if boot.timed_out {
            format!(
                "FAIL {}: ran out after {} s (its limit is {} s); console tail:",
                boot.suite, boot.seconds, boot.limit_s
            )
        } else {
            format!(
                "FAIL {}: the VM did not finish the suite after {} s (crash or hang); console tail:",
                boot.suite, boot.seconds
            )
        });
        let start = console_lines.len().saturating_sub(TAIL_LINES);
        for l in &console_lines[start..] {
            v.lines.push(format!("    | {l}"));
        }
    }
    if report.tests.is_empty() {
        v.failed += 1;
        v.lines
            .push(format!("FAIL {}: no test results at all", boot.suite));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_KTAP: &str = "# suite: module\nKTAP version 1\n1..2\nok 1 insmod\nok 2 rmmod\n# lunatik-selftests: done\n";
    const CLEAN_CONSOLE: &str = "Linux version 7.3.4\nlunatik: loaded (2 possible CPUs)\n";
    const BOOT: Boot = Boot {
        suite: "01-module",
        timed_out: false,
        seconds: 10,
        limit_s: 300,
    };

    fn judge(ktap: &str, console: &str, name: &str) -> Verdict {
        super::judge(ktap, console, name, &BOOT)
    }

    #[test]
    fn clean_run_passes() {
        let v = judge(GOOD_KTAP, CLEAN_CONSOLE, "console.log");
        assert_eq!((v.passed, v.failed), (2, 0));
        assert_eq!(v.summary(), "2 passed, 0 failed");
    }

    #[test]
    fn warning_in_console_fails_the_run() {
        let console = format!("{CLEAN_CONSOLE}WARNING: CPU: 1 PID: 80 at lunatik_main.rs:27\n");
        let v = judge(GOOD_KTAP, &console, "console.log");
        assert_eq!(v.failed, 1);
        assert!(
            v.lines
                .iter()
                .any(|l| l == "FAIL console: kernel warning at console.log:3"),
            "{:?}",
            v.lines
        );
    }

    #[test]
    fn missing_result_fails_the_run() {
        let ktap = GOOD_KTAP.replace("ok 2 rmmod\n", "");
        let v = judge(&ktap, CLEAN_CONSOLE, "console.log");
        assert_eq!((v.passed, v.failed), (1, 1));
    }

    #[test]
    fn unfinished_vm_fails_and_shows_the_tail() {
        let ktap = GOOD_KTAP.replace("# lunatik-selftests: done\n", "");
        let v = judge(&ktap, "booting\nstuck here\n", "console.log");
        assert_eq!(v.failed, 1);
        assert!(v.lines.iter().any(|l| l == "    | stuck here"));
    }

    #[test]
    fn a_suite_that_ran_out_names_itself_and_its_limit() {
        let ktap = GOOD_KTAP.replace("# lunatik-selftests: done\n", "");
        let boot = Boot {
            suite: "08-xdp",
            timed_out: true,
            seconds: 900,
            limit_s: 900,
        };
        let v = super::judge(&ktap, "stuck\n", "c", &boot);
        assert!(
            v.lines.iter().any(
                |l| l == "FAIL 08-xdp: ran out after 900 s (its limit is 900 s); console tail:"
            ),
            "{:?}",
            v.lines
        );
    }

    #[test]
    fn a_report_before_the_suites_is_labelled_and_still_fails() {
        let console = format!(
            "BUG: KASAN: wild-memory-access\n{}\n{CLEAN_CONSOLE}",
            console::START_MARKER
        );
        let v = judge(GOOD_KTAP, &console, "c");
        assert_eq!(v.failed, 1);
        assert!(
            v.lines
                .iter()
                .any(|l| l == "FAIL console: kernel BUG (before the suites started) at c:1"),
            "{:?}",
            v.lines
        );
    }

    #[test]
    fn runs_are_judged_each_and_summed_with_notes_for_thrown_away_boots() {
        let dir = std::env::temp_dir().join(format!("vmtest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (suite, ktap) in [
            ("01-module", GOOD_KTAP),
            ("02-state", "# suite: state\nKTAP version 1\n1..1\nok 1 a\n"),
        ] {
            std::fs::create_dir_all(dir.join(suite)).unwrap();
            std::fs::write(dir.join(suite).join("ktap.log"), ktap).unwrap();
            std::fs::write(dir.join(suite).join("console.log"), CLEAN_CONSOLE).unwrap();
        }
        std::fs::write(
            dir.join("01-module").join("boot-1.console.log"),
            "BUG: KASAN: wild-memory-access in do_raw_spin_lock\n",
        )
        .unwrap();
        let tsv = "01-module\t300\t20\tdone\t1\n02-state\t100\t100\ttimeout\t0\n";
        let runs = run::parse(tsv, &dir.join("runs.tsv")).unwrap();
        let v = judge_runs(&runs);
        std::fs::remove_dir_all(&dir).unwrap();
        // 2 + 1 results passed; 02-state never printed its end marker.
        assert_eq!((v.passed, v.failed), (3, 1), "{:?}", v.lines);
        assert!(v
            .lines
            .iter()
            .any(|l| l.starts_with("NOTE 01-module: boot 1 was thrown away")));
        assert!(v
            .lines
            .iter()
            .any(|l| l.contains("01-module: kernel BUG at line 1")));
        assert!(v
            .lines
            .iter()
            .any(|l| l.starts_with("FAIL 02-state: ran out after 100 s")));
        assert!(v.lines.iter().any(|l| l.starts_with("all ")));
    }

    #[test]
    fn empty_run_fails() {
        let v = judge("# lunatik-selftests: done\n", CLEAN_CONSOLE, "console.log");
        assert_eq!(v.failed, 1);
    }

    #[test]
    fn skips_are_reported_in_the_summary() {
        let ktap = GOOD_KTAP.replace("ok 2 rmmod", "ok 2 rmmod # SKIP not built");
        assert_eq!(
            judge(&ktap, CLEAN_CONSOLE, "c").summary(),
            "1 passed, 0 failed, 1 skipped"
        );
    }

    #[test]
    fn failed_test_shows_its_diagnostics() {
        let ktap = GOOD_KTAP.replace(
            "ok 2 rmmod",
            "# ok 1 is not this one\n# module still loaded\nnot ok 2 rmmod # still present",
        );
        let v = judge(&ktap, CLEAN_CONSOLE, "c");
        let at = v
            .lines
            .iter()
            .position(|l| l == "FAIL module.rmmod: still present")
            .expect("failure line");
        assert_eq!(v.lines[at + 2], "    # module still loaded");
        assert!(!v
            .lines
            .iter()
            .any(|l| l.contains("PASS") && l.contains('#')));
    }

    #[test]
    fn kunit_assertion_text_does_not_end_the_suite() {
        let ktap = "# suite: state\nKTAP version 1\n1..2\nok 1 insmod\n    KTAP version 1\n    # Subtest: lunatik_state\n    1..2\n    # a: ASSERTION FAILED at x.rs:1\n    Expected f(1,\n\"two\") to be true\n    not ok 1 a\n    ok 2 b\nnot ok 2 lunatik_state\n# lunatik-selftests: done\n";
        let v = judge(ktap, CLEAN_CONSOLE, "c");
        assert_eq!((v.passed, v.failed), (2, 1), "{:?}", v.lines);
        assert!(
            v.lines.iter().any(|l| l == "FAIL state.lunatik_state.a: "),
            "{:?}",
            v.lines
        );
        assert!(
            v.lines.iter().any(|l| l == "PASS state.lunatik_state.b"),
            "{:?}",
            v.lines
        );
    }
}
