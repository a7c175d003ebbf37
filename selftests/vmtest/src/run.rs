//! The boots of one selftest run, as `selftests/run-vm.sh` records them.
//!
//! The runner boots the VM once per suite, each boot under the suite's own
//! time limit, and appends one line per boot to `runs.tsv`:
//!
//! ```text
//! SUITE <TAB> LIMIT_S <TAB> SECONDS <TAB> STATUS <TAB> RETRIES
//! ```
//!
//! `STATUS` is `done` when QEMU exited by itself and `timeout` when the
//! limit killed it; `RETRIES` counts the boots thrown away because the
//! kernel reported a problem before the suite started (see
//! [`crate::console::boot_reports`]). The boot's logs are in the folder
//! `SUITE/` beside `runs.tsv`: `ktap.log` and `console.log` of the boot
//! that counts, `boot-N.console.log` of each boot thrown away.

use std::path::{Path, PathBuf};

/// One suite's boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The suite's file name without `.sh`, such as `08-xdp`.
    pub suite: String,
    /// The folder with the boot's logs.
    pub dir: PathBuf,
    /// The suite's time limit, in seconds.
    pub limit_s: u64,
    /// How long the boot took, in seconds.
    pub seconds: u64,
    /// Whether the limit killed the VM.
    pub timed_out: bool,
    /// Boots thrown away before this one.
    pub retries: u32,
}

impl Run {
    /// The path of one of the boot's logs.
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Parses `runs.tsv` (its text and its path, whose folder holds the logs).
pub fn parse(text: &str, path: &Path) -> Result<Vec<Run>, String> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut runs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || format!("{}:{}: malformed line '{line}'", path.display(), i + 1);
        let fields: Vec<&str> = line.split('\t').collect();
        let [suite, limit, seconds, status, retries] = fields.as_slice() else {
            return Err(bad());
        };
        let timed_out = match *status {
            "done" => false,
            "timeout" => true,
            _ => return Err(bad()),
        };
        runs.push(Run {
            suite: suite.to_string(),
            dir: base.join(suite),
            limit_s: limit.parse().map_err(|_| bad())?,
            seconds: seconds.parse().map_err(|_| bad())?,
            timed_out,
            retries: retries.parse().map_err(|_| bad())?,
        });
    }
    Ok(runs)
}

/// The time report: each suite's duration beside its limit, and the total,
/// so a suite creeping toward its limit shows before it fails.
pub fn time_report(runs: &[Run]) -> Vec<String> {
    let width = runs.iter().map(|r| r.suite.len()).max().unwrap_or(5).max(5);
    let mut lines = vec![format!(
        "{:<width$}  {:>7}  {:>7}  {:>5}",
        "suite", "took", "limit", "share"
    )];
    for r in runs {
        let share = r.seconds * 100 / r.limit_s.max(1);
        let mut line = format!(
            "{:<width$}  {:>5} s  {:>5} s  {:>4}%",
            r.suite, r.seconds, r.limit_s, share
        );
        if r.timed_out {
            line.push_str("  ran out");
        }
        if r.retries > 0 {
            line.push_str(&format!("  ({} boot(s) thrown away)", r.retries));
        }
        lines.push(line);
    }
    let total: u64 = runs.iter().map(|r| r.seconds).sum();
    let limits: u64 = runs.iter().map(|r| r.limit_s).sum();
    lines.push(format!(
        "{:<width$}  {:>5} s  {:>5} s",
        "all", total, limits
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_boot() {
        let runs = parse(
            "01-module\t300\t41\tdone\t0\n08-xdp\t1200\t1200\ttimeout\t1\n",
            Path::new("/b/vm/runs.tsv"),
        )
        .unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].suite, "08-xdp");
        assert_eq!(runs[1].dir, PathBuf::from("/b/vm/08-xdp"));
        assert!(runs[1].timed_out && !runs[0].timed_out);
        assert_eq!(
            (runs[1].limit_s, runs[1].seconds, runs[1].retries),
            (1200, 1200, 1)
        );
    }

    #[test]
    fn refuses_a_malformed_line() {
        let err = parse("01-module\t300\tdone\n", Path::new("runs.tsv")).unwrap_err();
        assert!(err.contains("runs.tsv:1"), "{err}");
        assert!(parse("a\t1\t1\tmaybe\t0\n", Path::new("r")).is_err());
    }

    #[test]
    fn the_time_report_shows_share_and_total() {
        let runs = parse(
            "01-module\t300\t30\tdone\t0\n02-state\t200\t200\ttimeout\t0\n",
            Path::new("r"),
        )
        .unwrap();
        let t = time_report(&runs);
        assert_eq!(t.len(), 4);
        assert!(
            t[1].starts_with("01-module") && t[1].ends_with("10%"),
            "{t:?}"
        );
        assert!(t[2].ends_with("ran out"), "{t:?}");
        assert!(
            t[3].starts_with("all") && t[3].contains("230 s") && t[3].contains("500 s"),
            "{t:?}"
        );
    }
}
