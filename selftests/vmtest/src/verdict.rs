//! The verdict on one VM run, from its KTAP log and its console log.

use crate::console;
use crate::ktap::{self, Outcome};

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

/// Judges a run; `console_name` is used to point at console lines.
pub fn judge(ktap_text: &str, console_text: &str, console_name: &str) -> Verdict {
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
    for f in console::scan(console_text) {
        v.failed += 1;
        v.lines.push(format!(
            "FAIL console: {} at {console_name}:{}",
            f.kind, f.line_no
        ));
        for l in console_lines.iter().skip(f.line_no - 1).take(CONTEXT_LINES) {
            v.lines.push(format!("    | {l}"));
        }
    }

    if !ktap_text.lines().any(|l| l.trim_end() == DONE_MARKER) {
        v.failed += 1;
        v.lines.push(
            "FAIL vm: the VM did not finish the suites (hang, crash or timeout); console tail:"
                .into(),
        );
        let start = console_lines.len().saturating_sub(TAIL_LINES);
        for l in &console_lines[start..] {
            v.lines.push(format!("    | {l}"));
        }
    }
    if report.tests.is_empty() {
        v.failed += 1;
        v.lines.push("FAIL vm: no test results at all".into());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_KTAP: &str = "# suite: module\nKTAP version 1\n1..2\nok 1 insmod\nok 2 rmmod\n# lunatik-selftests: done\n";
    const CLEAN_CONSOLE: &str = "Linux version 7.3.4\nlunatik: loaded (2 possible CPUs)\n";

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
