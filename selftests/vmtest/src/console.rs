//! Scans the kernel console log for reports that fail a run whatever the
//! tests said: warnings, BUGs, oopses, sanitizer, lockdep, RCU-stall,
//! lockup and hung-task reports.

/// Console substrings that mean the kernel found something wrong, each with
/// what it is called in the summary. The first pattern a line contains
/// names it, so the specific ones come first ("watchdog: BUG: soft
/// lockup" is a lockup, not any BUG).
const PATTERNS: &[(&str, &str)] = &[
    ("soft lockup", "soft lockup"),
    ("hard LOCKUP", "hard lockup"),
    ("WARNING:", "kernel warning"),
    ("BUG:", "kernel BUG"),
    ("Oops", "kernel oops"),
    ("Kernel panic", "kernel panic"),
    ("general protection fault", "general protection fault"),
    ("KASAN:", "KASAN report"),
    ("UBSAN:", "UBSAN report"),
    ("possible circular locking dependency", "lockdep report"),
    ("possible recursive locking", "lockdep report"),
    ("inconsistent lock state", "lockdep report"),
    ("suspicious RCU usage", "lockdep RCU report"),
    ("rcu: INFO:", "RCU stall"),
    ("detected stall", "RCU stall"),
    ("blocked for more than", "hung task"),
    ("unreferenced object", "kmemleak report"),
    ("new suspected memory leaks", "kmemleak report"),
    ("Rust panic", "Rust panic"),
    ("panicked at", "Rust panic"),
];

/// The line the VM's init writes to the kernel log (through `/dev/kmsg`)
/// just before it runs the first suite of a boot. Nothing of the module is
/// loaded before it, so a report above it belongs to the kernel's own boot.
pub const START_MARKER: &str = "lunatik-selftests: suites start";

/// A problem found in the console log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of report it is.
    pub kind: &'static str,
    /// 1-based line number in the console log.
    pub line_no: usize,
    /// The line itself.
    pub line: String,
}

/// Every line of `log` that carries a failure report.
pub fn scan(log: &str) -> Vec<Finding> {
    log.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            PATTERNS
                .iter()
                .find(|(pat, _)| line.contains(pat))
                .map(|(_, kind)| Finding {
                    kind,
                    line_no: i + 1,
                    line: line.trim_end().to_string(),
                })
        })
        .collect()
}

/// The 1-based number of the line carrying [`START_MARKER`], if the boot
/// got that far.
pub fn start_line(log: &str) -> Option<usize> {
    log.lines()
        .position(|l| l.contains(START_MARKER))
        .map(|i| i + 1)
}

/// The reports of `log` that came before the suites started: the kernel's
/// boot (or a crash before init ran anything) made them, not the module.
/// A log without the marker never reached the suites, so all of its
/// reports are the boot's.
pub fn boot_reports(log: &str) -> Vec<Finding> {
    let start = start_line(log).unwrap_or(usize::MAX);
    scan(log)
        .into_iter()
        .filter(|f| f.line_no < start)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_before_the_start_marker_are_the_boots() {
        let log = "[ 0.5] BUG: KASAN: wild-memory-access in do_raw_spin_lock\n\
                   [ 2.0] lunatik-selftests: suites start\n\
                   [ 3.0] WARNING: CPU: 0 PID: 80 at lunatik_main.rs:27\n";
        assert_eq!(start_line(log), Some(2));
        let boot = boot_reports(log);
        assert_eq!(boot.len(), 1);
        assert_eq!(boot[0].line_no, 1);
        assert_eq!(scan(log).len(), 2);
    }

    #[test]
    fn a_boot_that_never_started_the_suites_owns_every_report() {
        let log = "Kernel panic - not syncing: VFS\n";
        assert_eq!(start_line(log), None);
        assert_eq!(boot_reports(log).len(), 1);
    }

    #[test]
    fn finds_warning_and_names_it() {
        let log = "[    1.0] lunatik: loaded\n[    1.1] WARNING: CPU: 0 PID: 1 at rust/lunatik_main.rs:20 init\n";
        let f = scan(log);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "kernel warning");
        assert_eq!(f[0].line_no, 2);
    }

    #[test]
    fn finds_lockups_and_preemption_bugs() {
        let log = "watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [sh:90]\n\
                   BUG: using smp_processor_id() in preemptible [00000000] code: sh/91\n\
                   INFO: task lunatik:92 blocked for more than 30 seconds.\n";
        let kinds: Vec<&str> = scan(log).iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&"soft lockup"), "{kinds:?}");
        assert!(kinds.contains(&"kernel BUG"), "{kinds:?}");
        assert!(kinds.contains(&"hung task"), "{kinds:?}");
    }

    #[test]
    fn finds_lockdep_and_stalls() {
        let log = "WARNING: possible circular locking dependency detected\nrcu: INFO: rcu_preempt self-detected stall on CPU\n";
        let kinds: Vec<_> = scan(log).iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["kernel warning", "RCU stall"]);
    }

    #[test]
    fn clean_log_has_no_findings() {
        let log = "Linux version 7.3.4\nlunatik: loaded (2 possible CPUs)\nlunatik: unloaded\n";
        assert!(scan(log).is_empty());
    }
}
