//! A KTAP parser sized for the selftests: documents, plans, results and
//! nested subtests (as KUnit prints them), with the checks that make a run
//! trustworthy: every planned result present, none unaccounted for.

/// The outcome of one reported test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `ok N name`.
    Pass,
    /// `not ok N name`.
    Fail,
    /// `ok N name # SKIP reason`.
    Skip,
}

/// One test as counted in the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// Suite or subtest path, then the test's own name.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
    /// Text after `#` on the result line, or the reason the parser failed it.
    pub reason: String,
    /// The `#` diagnostic lines printed since the previous result: what a
    /// failing test said about why it failed.
    pub diagnostics: Vec<String>,
}

/// Everything a KTAP stream said.
#[derive(Debug, Default)]
pub struct Report {
    /// Leaf tests in the order they were reported, plus synthetic failures
    /// for missing results and failed parents without failed children.
    pub tests: Vec<TestResult>,
}

impl Report {
    /// Number of tests with the given outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.tests.iter().filter(|t| t.outcome == outcome).count()
    }
}

/// A KTAP document being read, at one indentation level.
struct Document {
    indent: usize,
    name: String,
    plan: Option<usize>,
    results: usize,
    /// Whether a nested document ended since the last result at this level:
    /// the next result then summarises subtests instead of being a leaf.
    child_ended: bool,
    /// Failures counted inside the most recent nested document.
    child_failures: usize,
    failures: usize,
}

impl Document {
    fn new(indent: usize, name: String) -> Self {
        Self {
            indent,
            name,
            plan: None,
            results: 0,
            child_ended: false,
            child_failures: 0,
            failures: 0,
        }
    }
}

/// Drops a printk timestamp (`[   12.345678] `) from a console line.
pub fn strip_timestamp(line: &str) -> &str {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let stamp = rest[..end].trim();
            if !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return rest[end + 1..]
                    .strip_prefix(' ')
                    .unwrap_or(&rest[end + 1..]);
            }
        }
    }
    line
}

/// Splits `ok 3 name # SKIP why` into (outcome, name, reason).
fn parse_result(line: &str) -> Option<(Outcome, String, String)> {
    let (failed, rest) = if let Some(rest) = line.strip_prefix("not ok ") {
        (true, rest)
    } else if let Some(rest) = line.strip_prefix("ok ") {
        (false, rest)
    } else {
        return None;
    };
    let rest = rest
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.find('#') {
        Some(i) => (rest[..i].trim(), rest[i + 1..].trim()),
        None => (rest.trim(), ""),
    };
    let outcome = if failed {
        Outcome::Fail
    } else if directive.to_ascii_uppercase().starts_with("SKIP") {
        Outcome::Skip
    } else {
        Outcome::Pass
    };
    Some((outcome, name.to_string(), directive.to_string()))
}

/// Closes the innermost open document, failing its missing results.
fn close(stack: &mut Vec<Document>, report: &mut Report) {
    let Some(doc) = stack.pop() else { return };
    let mut failures = doc.failures;
    match doc.plan {
        Some(plan) if doc.results < plan => {
            for n in doc.results + 1..=plan {
                report.tests.push(TestResult {
                    name: format!("{} #{}", doc.name, n),
                    outcome: Outcome::Fail,
                    reason: format!("missing: planned {} results, got {}", plan, doc.results),
                    diagnostics: Vec::new(),
                });
                failures += 1;
            }
        }
        Some(plan) if doc.results > plan => {
            report.tests.push(TestResult {
                name: doc.name.clone(),
                outcome: Outcome::Fail,
                reason: format!("planned {} results, got {}", plan, doc.results),
                diagnostics: Vec::new(),
            });
            failures += 1;
        }
        None if doc.results > 0 => {
            report.tests.push(TestResult {
                name: doc.name.clone(),
                outcome: Outcome::Fail,
                reason: "results without a plan line".into(),
                diagnostics: Vec::new(),
            });
            failures += 1;
        }
        _ => {}
    }
    if let Some(parent) = stack.last_mut() {
        parent.child_ended = true;
        parent.child_failures = failures;
    }
}

/// Parses a KTAP stream. `# suite: NAME` lines (written by the VM's init)
/// name the documents that follow.
pub fn parse(text: &str) -> Report {
    let mut report = Report::default();
    let mut stack: Vec<Document> = Vec::new();
    let mut suite = String::from("?");
    let mut subtest: Option<String> = None;
    let mut diagnostics: Vec<String> = Vec::new();

    for raw in text.lines() {
        let line = strip_timestamp(raw.trim_end_matches('\r'));
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();

        // A KTAP line at a shallower indentation than the innermost
        // document closes it (a nested document ends where its parent
        // resumes). Free text, such as the continuation lines of a KUnit
        // assertion message, closes nothing.
        let structural = body.starts_with('#')
            || body.starts_with("KTAP version")
            || body.starts_with("TAP version")
            || body.starts_with("1..")
            || parse_result(body).is_some();
        while structural && stack.len() > 1 && stack.last().is_some_and(|d| indent < d.indent) {
            close(&mut stack, &mut report);
        }

        if let Some(name) = body.strip_prefix("# suite:") {
            while !stack.is_empty() {
                close(&mut stack, &mut report);
            }
            suite = name.trim().to_string();
        } else if let Some(name) = body.strip_prefix("# Subtest:") {
            // KUnit names a document on the line after its version line;
            // older TAP names it on the line before.
            let name = name.trim();
            let len = stack.len();
            match stack.last_mut() {
                Some(doc)
                    if len > 1
                        && doc.indent == indent
                        && doc.plan.is_none()
                        && doc.results == 0 =>
                {
                    let parent = doc
                        .name
                        .rsplit_once('.')
                        .map_or("?", |(p, _)| p)
                        .to_string();
                    doc.name = format!("{parent}.{name}");
                }
                _ => subtest = Some(name.to_string()),
            }
        } else if body.starts_with("KTAP version") || body.starts_with("TAP version") {
            if indent == 0 || stack.is_empty() {
                while !stack.is_empty() {
                    close(&mut stack, &mut report);
                }
            }
            let name = match (stack.last(), subtest.take()) {
                (Some(parent), Some(sub)) => format!("{}.{}", parent.name, sub),
                (Some(parent), None) => format!("{}.?", parent.name),
                (None, Some(sub)) => format!("{suite}.{sub}"),
                (None, None) => suite.clone(),
            };
            stack.push(Document::new(indent, name));
        } else if let Some(count) = body.strip_prefix("1..") {
            if let (Some(doc), Ok(n)) = (stack.last_mut(), count.trim().parse()) {
                if doc.plan.is_none() && doc.results == 0 {
                    doc.plan = Some(n);
                }
            }
        } else if let Some((outcome, name, reason)) = parse_result(body) {
            let diagnostics = core::mem::take(&mut diagnostics);
            let Some(doc) = stack.last_mut() else {
                continue;
            };
            doc.results += 1;
            let full = format!("{}.{}", doc.name, name);
            if doc.child_ended {
                // A summary of subtests: its children were counted already,
                // unless it failed on its own (then count that failure).
                doc.child_ended = false;
                if outcome == Outcome::Fail && doc.child_failures == 0 {
                    doc.failures += 1;
                    report.tests.push(TestResult {
                        name: full,
                        outcome,
                        reason,
                        diagnostics,
                    });
                } else {
                    doc.failures += doc.child_failures;
                }
            } else {
                if outcome == Outcome::Fail {
                    doc.failures += 1;
                }
                report.tests.push(TestResult {
                    name: full,
                    outcome,
                    reason,
                    diagnostics,
                });
            }
        } else if let Some(text) = body.strip_prefix('#') {
            diagnostics.push(text.trim().to_string());
        } else if !body.is_empty() && !stack.is_empty() {
            // Free text inside a document, such as the body of a KUnit
            // assertion message, explains the next result too.
            diagnostics.push(body.to_string());
        }
    }
    while !stack.is_empty() {
        close(&mut stack, &mut report);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_flat_results() {
        let r = parse(
            "# suite: a\nKTAP version 1\n1..3\nok 1 x\nnot ok 2 y # boom\nok 3 z # SKIP no veth\n",
        );
        assert_eq!(
            (
                r.count(Outcome::Pass),
                r.count(Outcome::Fail),
                r.count(Outcome::Skip)
            ),
            (1, 1, 1)
        );
        assert_eq!(r.tests[1].name, "a.y");
        assert_eq!(r.tests[1].reason, "boom");
    }

    #[test]
    fn missing_results_fail() {
        let r = parse("# suite: a\nKTAP version 1\n1..3\nok 1 x\n");
        assert_eq!(r.count(Outcome::Pass), 1);
        assert_eq!(r.count(Outcome::Fail), 2);
        assert!(r.tests[1].reason.contains("missing"));
    }

    #[test]
    fn a_suite_cut_short_by_the_next_fails() {
        let r = parse(
            "# suite: a\nKTAP version 1\n1..2\nok 1 x\n# suite: b\nKTAP version 1\n1..1\nok 1 y\n",
        );
        assert_eq!(r.count(Outcome::Pass), 2);
        assert_eq!(r.count(Outcome::Fail), 1);
    }

    #[test]
    fn extra_results_and_missing_plan_fail() {
        assert_eq!(
            parse("KTAP version 1\n1..1\nok 1 x\nok 2 y\n").count(Outcome::Fail),
            1
        );
        assert_eq!(parse("KTAP version 1\nok 1 x\n").count(Outcome::Fail), 1);
    }

    #[test]
    fn nested_kunit_counts_leaves() {
        let log = "\
[    1.000000] KTAP version 1
[    1.000001] 1..1
[    1.000002]     KTAP version 1
[    1.000003]     # Subtest: lunatik_state
[    1.000004]     1..2
[    1.000005]     ok 1 runs_chunk
[    1.000006]     not ok 2 budget
[    1.000007] not ok 1 lunatik_state
";
        let r = parse(log);
        assert_eq!(r.count(Outcome::Pass), 1);
        assert_eq!(r.count(Outcome::Fail), 1, "{:?}", r.tests);
        assert_eq!(r.tests[1].name, "?.lunatik_state.budget");
    }

    #[test]
    fn parent_failing_alone_is_counted() {
        let log = "KTAP version 1\n1..1\n    KTAP version 1\n    1..1\n    ok 1 a\nnot ok 1 s\n";
        let r = parse(log);
        assert_eq!((r.count(Outcome::Pass), r.count(Outcome::Fail)), (1, 1));
    }

    #[test]
    fn nested_missing_result_fails() {
        let log = "KTAP version 1\n1..1\n    KTAP version 1\n    1..2\n    ok 1 a\nok 1 s\n";
        let r = parse(log);
        assert_eq!((r.count(Outcome::Pass), r.count(Outcome::Fail)), (1, 1));
    }

    #[test]
    fn timestamps_are_stripped() {
        assert_eq!(strip_timestamp("[    3.141592] ok 1 x"), "ok 1 x");
        assert_eq!(strip_timestamp("[x] ok"), "[x] ok");
    }
}
