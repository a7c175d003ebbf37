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

#[cfg(test)]
mod tests {
    use super::*;

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
