//! Reports of a run: human text, versioned JSON, JUnit XML, and the baseline of
//! expected failures. Rendering is pure; the CLI writes the files.

use std::collections::{BTreeMap, BTreeSet};

use mcp_harness_checks::{Outcome, Tally};
use serde::Serialize;
use serde_json::{Value, json};

use crate::run::CaseResult;

/// Name and version of the JSON report format.
pub const REPORT_FORMAT: &str = "mcp-harness-report";
/// Version of the JSON report format.
pub const REPORT_VERSION: u32 = 1;

/// A line of a baseline file that is not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineError {
    /// Not two words before the `#`.
    #[error("line {line}: expected `scenario@version check-id  # reason`, got `{entry}`")]
    NotAnEntry {
        /// The line, from 1.
        line: usize,
        /// The line's text before the `#`.
        entry: String,
    },
    /// A case without its version.
    #[error("line {line}: `{case}` is not `scenario@version`")]
    NoVersion {
        /// The line, from 1.
        line: usize,
        /// The word that should be `scenario@version`.
        case: String,
    },
}

/// Failures a user expects (`scenario@version check` per line, `#` comments),
/// so a known deviation of a third-party server does not fail CI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    expected: BTreeMap<(String, String), String>,
    /// A note per line that named a case by a scenario's former id (read as
    /// its current one).
    pub notes: Vec<String>,
}

impl Baseline {
    /// Parse a baseline file; errors name the line.
    pub fn parse(text: &str) -> Result<Self, BaselineError> {
        let mut expected = BTreeMap::new();
        let mut notes = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let (entry, reason) = match line.split_once('#') {
                Some((entry, reason)) => (entry.trim(), reason.trim()),
                None => (line.trim(), ""),
            };
            if entry.is_empty() {
                continue;
            }
            let mut words = entry.split_whitespace();
            let (Some(case), Some(check), None) = (words.next(), words.next(), words.next()) else {
                return Err(BaselineError::NotAnEntry {
                    line: n + 1,
                    entry: entry.to_owned(),
                });
            };
            if !case.contains('@') {
                return Err(BaselineError::NoVersion {
                    line: n + 1,
                    case: case.to_owned(),
                });
            }
            // A former id finds the case under its new id too (a scenario
            // folder exported before the move still runs under the old one).
            if let Some(current) = crate::scenario::renamed::current_name(case) {
                notes.push(format!(
                    "line {}: `{case}` is a former id, now `{current}` (scenario folders are named by spec area): it finds either",
                    n + 1
                ));
            }
            expected.insert((case.to_owned(), check.to_owned()), reason.to_owned());
        }
        Ok(Self { expected, notes })
    }

    /// Whether the failure of `check` in `case` is expected (listed under
    /// the case's id or its former one).
    pub fn expects(&self, case: &str, check: &str) -> bool {
        let listed = |name: &str| {
            self.expected
                .contains_key(&(name.to_owned(), check.to_owned()))
        };
        listed(case) || crate::scenario::renamed::former_name(case).is_some_and(|f| listed(&f))
    }
}

/// The run's conclusions.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Summary {
    /// Cases run (not skipped).
    pub cases: usize,
    /// Cases with an unexpected failure.
    pub failed_cases: Vec<String>,
    /// Cases skipped (the target lacks a role).
    pub skipped_cases: Vec<String>,
    /// Failures listed in the baseline.
    pub expected_failures: Vec<String>,
    /// Baseline entries that did not fail this time.
    pub fixed: Vec<String>,
    /// With a baseline: warnings (`scenario@version check`) it does not list.
    /// They never fail the run; a third-party server's baseline lists each one
    /// with the sentence it breaks.
    pub unlisted_warnings: Vec<String>,
    /// Outcomes per check id.
    pub per_check: BTreeMap<String, Tally>,
    /// Cases whose calls a fault hit and resilience judged.
    pub chaos_cases: usize,
    /// Of those, the cases that lost a call (and no baseline expects it).
    pub lost_cases: Vec<String>,
    /// Cases with faults that resilience could not judge, with why.
    pub not_judged_cases: Vec<String>,
    /// Cases that neither failed nor lost a call, but a fault they declared
    /// never fired: they tested nothing of what they are about, and count
    /// neither as passed nor as failed.
    #[serde(default)]
    pub not_exercised_cases: Vec<String>,
    /// Whether lost calls count against the run (`--conformance-only` turns it off).
    pub resilience_counts: bool,
}

/// What became of one case, as every report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseOutcome {
    /// Every rule it exercised was kept, every fault it declared fired.
    Passed,
    /// A MUST broken, an expectation unmet, or the case could not run.
    Failed,
    /// A call a fault hit never got its response (resilience).
    Lost,
    /// A fault it declared never fired: nothing of its subject was tested.
    NotExercised,
    /// The target lacks what it needs (a role, a capability, a transport).
    Skipped,
}

impl CaseOutcome {
    /// The status word of the human report and the HTML page.
    pub fn word(self) -> &'static str {
        match self {
            Self::Passed => "PASS",
            Self::Failed => "FAIL",
            Self::Lost => "LOST",
            Self::NotExercised => "UNEXERCISED",
            Self::Skipped => "SKIP",
        }
    }
}

/// The pseudo check id a baseline uses to expect a lost call.
pub const RESILIENCE: &str = "resilience";

impl Summary {
    /// Summarize `cases` against `baseline`.
    pub fn of(cases: &[CaseResult], baseline: &Baseline) -> Self {
        let mut summary = Self {
            resilience_counts: true,
            ..Self::default()
        };
        let mut failed_pairs = BTreeSet::new();
        for case in cases {
            let name = case.name();
            if case.skipped.is_some() {
                summary.skipped_cases.push(name);
                continue;
            }
            summary.cases += 1;
            let mut unexpected = case.error.is_some();
            for verdict in &case.verdicts {
                summary
                    .per_check
                    .entry(verdict.check.clone())
                    .or_default()
                    .add(&verdict.outcome);
                if matches!(verdict.outcome, Outcome::Fail | Outcome::Warn) {
                    failed_pairs.insert((name.clone(), verdict.check.clone()));
                }
                if verdict.outcome == Outcome::Warn
                    && !baseline.expected.is_empty()
                    && !baseline.expects(&name, &verdict.check)
                {
                    summary
                        .unlisted_warnings
                        .push(format!("{name} {}", verdict.check));
                }
                if verdict.outcome == Outcome::Fail {
                    if baseline.expects(&name, &verdict.check) {
                        summary
                            .expected_failures
                            .push(format!("{name} {}", verdict.check));
                    } else {
                        unexpected = true;
                    }
                }
            }
            if case.resilience.judged() {
                summary.chaos_cases += 1;
            }
            if let mcp_harness_checks::Resilience::NotJudged { reason } = &case.resilience {
                summary.not_judged_cases.push(format!("{name}: {reason}"));
            }
            if case.lost_a_call() {
                failed_pairs.insert((name.clone(), RESILIENCE.to_owned()));
                if baseline.expects(&name, RESILIENCE) {
                    summary
                        .expected_failures
                        .push(format!("{name} {RESILIENCE}"));
                } else {
                    summary.lost_cases.push(name.clone());
                }
            }
            if unexpected {
                summary.failed_cases.push(name);
            } else if !case.unexercised.is_empty() {
                // A case that also lost a call shows LOST while lost calls
                // count (see `outcome_of`), UNEXERCISED under --conformance-only.
                summary.not_exercised_cases.push(name);
            }
        }
        let ran: BTreeSet<String> = cases
            .iter()
            .filter(|c| c.skipped.is_none())
            .map(CaseResult::name)
            .collect();
        for (case, check) in baseline.expected.keys() {
            // The case as it ran: under the listed id, or the new id of a former one.
            let ran_as = Some(case.clone()).filter(|c| ran.contains(c)).or_else(|| {
                crate::scenario::renamed::current_name(case).filter(|c| ran.contains(c))
            });
            if let Some(ran_as) = ran_as
                && !failed_pairs.contains(&(ran_as, check.clone()))
            {
                summary.fixed.push(format!("{case} {check}"));
            }
        }
        summary
    }

    /// Report lost calls without failing the run for them.
    pub fn ignore_resilience(&mut self) {
        self.resilience_counts = false;
    }

    /// Whether the run passed: no unexpected conformance failure and, unless
    /// ignored, no unexpected lost call.
    pub fn passed(&self) -> bool {
        self.failed_cases.is_empty() && (!self.resilience_counts || self.lost_cases.is_empty())
    }

    /// The outcome of case `name`, computed once from the lists above.
    pub fn outcome_of(&self, name: &str) -> CaseOutcome {
        let listed = |list: &[String]| list.iter().any(|c| c == name);
        if listed(&self.skipped_cases) {
            CaseOutcome::Skipped
        } else if listed(&self.failed_cases) {
            CaseOutcome::Failed
        } else if listed(&self.lost_cases) && self.resilience_counts {
            CaseOutcome::Lost
        } else if listed(&self.not_exercised_cases) {
            CaseOutcome::NotExercised
        } else {
            CaseOutcome::Passed
        }
    }

    /// The cases that lost a call and show it (not failed, lost calls count).
    fn shown_lost(&self) -> BTreeSet<&String> {
        if !self.resilience_counts {
            return BTreeSet::new();
        }
        self.lost_cases
            .iter()
            .filter(|c| !self.failed_cases.contains(c))
            .collect()
    }

    /// The cases that show UNEXERCISED (see `outcome_of`).
    pub fn unexercised_count(&self) -> usize {
        let lost = self.shown_lost();
        self.not_exercised_cases
            .iter()
            .filter(|c| !lost.contains(c))
            .count()
    }

    /// Cases that passed: ran, did not fail, lose a call or leave a fault
    /// unexercised.
    pub fn passed_cases(&self) -> usize {
        self.cases - self.failed_cases.len() - self.shown_lost().len() - self.unexercised_count()
    }

    /// The closing line: conformance, then resilience.
    pub fn closing_line(&self) -> String {
        let not_exercised = match self.unexercised_count() {
            0 => String::new(),
            n => format!(", {n} fault not exercised"),
        };
        let mut line = format!(
            "{} passed, {} failed, {} skipped{not_exercised} ({} expected failures); resilience: {} of {} chaos cases lost a call",
            self.passed_cases(),
            self.failed_cases.len(),
            self.skipped_cases.len(),
            self.expected_failures.len(),
            self.lost_cases.len(),
            self.chaos_cases
        );
        if !self.not_judged_cases.is_empty() {
            line.push_str(&format!(", {} not judged", self.not_judged_cases.len()));
        }
        if !self.resilience_counts {
            line.push_str(" (--conformance-only: not counted)");
        }
        line
    }
}

/// Records shown for a group of like findings.
const SHOWN_RECORDS: usize = 3;

/// A verdict's findings grouped by kind (what was expected), in order of
/// first appearance: a server that breaks a rule 52 times gets one line.
fn group_findings(
    findings: &[mcp_harness_checks::Finding],
) -> Vec<Vec<&mcp_harness_checks::Finding>> {
    let mut groups: Vec<Vec<&mcp_harness_checks::Finding>> = Vec::new();
    for finding in findings {
        match groups
            .iter_mut()
            .find(|g| g[0].expected == finding.expected)
        {
            Some(group) => group.push(finding),
            None => groups.push(vec![finding]),
        }
    }
    groups
}

/// Human-readable report.
pub fn human(cases: &[CaseResult], summary: &Summary) -> String {
    let mut out: String = cases.iter().map(|c| human_case(c, summary)).collect();
    out.push_str(&human_summary(summary));
    out
}

/// One case's lines of the readable report: its status, then its
/// resilience, skip reason, error and findings (as `run` prints them the
/// moment the case ends).
pub fn human_case(case: &CaseResult, summary: &Summary) -> String {
    let mut out = String::new();
    {
        let name = case.name();
        let status = if case.skipped.is_some() {
            CaseOutcome::Skipped
        } else {
            summary.outcome_of(&name)
        };
        out.push_str(&format!("{} {name}\n", status.word()));
        for fault in &case.unexercised {
            out.push_str(&format!(
                "     fault not exercised: {} [record {}]\n",
                fault.reason, fault.seq
            ));
        }
        if case.skipped.is_none()
            && !matches!(case.resilience, mcp_harness_checks::Resilience::NotChaos)
        {
            out.push_str(&format!("     resilience: {}\n", case.resilience.summary()));
        }
        if let Some(reason) = &case.skipped {
            out.push_str(&format!("     skipped: {reason}\n"));
        }
        if let Some(error) = &case.error {
            out.push_str(&format!("     error: {error}\n"));
        }
        // A skipped case counts for nothing: what its checks saw is not shown.
        let judged = case.verdicts.iter().filter(|_| case.skipped.is_none());
        for verdict in judged {
            if !matches!(
                verdict.outcome,
                Outcome::Fail | Outcome::Warn | Outcome::Unknown(_)
            ) {
                continue;
            }
            let tag = match &verdict.outcome {
                Outcome::Fail
                    if summary
                        .expected_failures
                        .contains(&format!("{name} {}", verdict.check)) =>
                {
                    "expected fail".to_owned()
                }
                other => other.name().to_owned(),
            };
            for group in group_findings(&verdict.findings) {
                let first = group[0];
                let records: Vec<String> = group
                    .iter()
                    .filter_map(|f| f.seq)
                    .map(|s| s.to_string())
                    .collect();
                let at = match records.len() {
                    0 => String::new(),
                    1 => format!(" [record {}]", records[0]),
                    n if n <= SHOWN_RECORDS => format!(" [records {}]", records.join(", ")),
                    _ => format!(" [records {}, ...]", records[..SHOWN_RECORDS].join(", ")),
                };
                let count = if group.len() > 1 {
                    format!(" {} times, first", group.len())
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "     {tag}: {} ({}){at}:{count} {}; expected {}\n",
                    verdict.check, verdict.citation, first.observed, first.expected
                ));
            }
            if let Outcome::Unknown(cause) = &verdict.outcome {
                out.push_str(&format!("     unknown: {}: {cause}\n", verdict.check));
            }
        }
    }
    out
}

/// The end of the readable report: outcomes per check, baseline notes and
/// the closing line.
pub fn human_summary(summary: &Summary) -> String {
    let mut out = String::new();
    out.push_str("\nper check (pass / not observed / warn / fail / skipped / unknown):\n");
    for (check, t) in &summary.per_check {
        out.push_str(&format!(
            "  {check:<34} {:>4} {:>4} {:>4} {:>4} {:>4} {:>4}\n",
            t.pass, t.not_observed, t.warn, t.fail, t.skipped, t.unknown
        ));
    }
    for warning in &summary.unlisted_warnings {
        out.push_str(&format!(
            "\nnote: the warning `{warning}` is not in the baseline\n"
        ));
    }
    for fixed in &summary.fixed {
        out.push_str(&format!("\nnote: `{fixed}` is listed as an expected failure but passed: remove it from the baseline\n"));
    }
    out.push_str(&format!("\n{}\n", summary.closing_line()));
    out
}

/// The versioned JSON report.
pub fn json_report(cases: &[CaseResult], summary: &Summary) -> Value {
    json!({
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "summary": summary,
        "cases": cases,
    })
}

/// JUnit XML: a test suite per case (scenario x version) and a test case per
/// check of it, so a CI dashboard shows which rule broke where. A broken MUST
/// fails with the citation and the findings; a broken SHOULD passes with a
/// `warning:` in its output; a rule not exercised, not in that version, or a
/// baseline's expected failure is skipped, saying which. A case that could
/// not run or lost a call adds a failing `case` or `resilience` test case.
pub fn junit(cases: &[CaseResult], summary: &Summary) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let skipped = |message: String| {
        let mut status = TestCaseStatus::skipped();
        status.set_message(message);
        status
    };
    let failure = |kind: NonSuccessKind, message: String, description: String| {
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(message);
        status.set_description(description);
        status
    };
    let mut report = Report::new("mcp-harness");
    for case in cases {
        let name = case.name();
        let mut suite = TestSuite::new(name.clone());
        suite.set_time(std::time::Duration::from_millis(case.duration_ms));
        let mut add = |test: &str, status: TestCaseStatus, out: Option<String>| {
            let mut test_case = TestCase::new(test.to_owned(), status);
            test_case.set_classname(name.clone());
            if let Some(out) = out {
                test_case.set_system_out(out);
            }
            suite.add_test_case(test_case);
        };
        if let Some(reason) = &case.skipped {
            add("case", skipped(format!("skipped: {reason}")), None);
            report.add_test_suite(suite);
            continue;
        }
        if let Some(error) = &case.error {
            let status = failure(NonSuccessKind::Failure, error.clone(), error.clone());
            add("case", status, None);
        }
        for fault in &case.unexercised {
            add(
                "fault",
                skipped(format!(
                    "fault not exercised: {} [record {}]",
                    fault.reason, fault.seq
                )),
                None,
            );
        }
        if case.lost_a_call() && summary.resilience_counts {
            let text = case.resilience.summary();
            add(
                "resilience",
                failure(NonSuccessKind::Failure, text.clone(), text),
                None,
            );
        }
        for verdict in &case.verdicts {
            let findings: Vec<String> = verdict
                .findings
                .iter()
                .map(|f| {
                    let at = f.seq.map(|s| format!("[record {s}] ")).unwrap_or_default();
                    format!("{at}{}; expected {}", f.observed, f.expected)
                })
                .collect();
            let cited = |what: &str| {
                format!(
                    "{what} {} ({}): {}",
                    verdict.level.name(),
                    verdict.citation,
                    findings.first().cloned().unwrap_or_default()
                )
            };
            let detail = format!("{}\n{}", verdict.citation, findings.join("\n"));
            let (status, out) = match &verdict.outcome {
                Outcome::Pass => (TestCaseStatus::success(), None),
                Outcome::Warn => (
                    TestCaseStatus::success(),
                    Some(format!("warning: {}\n{detail}", cited("broke a"))),
                ),
                Outcome::Fail
                    if summary
                        .expected_failures
                        .contains(&format!("{name} {}", verdict.check)) =>
                {
                    (
                        skipped(format!("expected failure (baseline): {}", cited("broke a"))),
                        None,
                    )
                }
                Outcome::Fail => (
                    failure(NonSuccessKind::Failure, cited("broke a"), detail),
                    None,
                ),
                Outcome::NotObserved => (
                    skipped("not observed: nothing in the case exercised this rule".into()),
                    None,
                ),
                Outcome::Skipped(reason) => (skipped(format!("skipped: {reason}")), None),
                Outcome::Unknown(cause) => (
                    failure(
                        NonSuccessKind::Error,
                        format!("unknown: {cause}"),
                        cause.clone(),
                    ),
                    None,
                ),
            };
            add(&verdict.check, status, out);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_harness_checks::{Level, Verdict};

    fn verdict(check: &str, level: Level, outcome: Outcome) -> Verdict {
        let findings = if matches!(outcome, Outcome::Fail | Outcome::Warn) {
            vec![mcp_harness_checks::Finding {
                seq: Some(7),
                observed: format!("{check} broke"),
                expected: "it kept".into(),
            }]
        } else {
            Vec::new()
        };
        Verdict {
            check: check.into(),
            level,
            version: "2025-11-25".into(),
            citation: format!("specification/2025-11-25/{check}"),
            outcome,
            examined: 1,
            findings,
        }
    }

    #[test]
    fn junit_has_a_test_case_per_check_with_its_citation_and_findings() {
        let mut case = CaseResult::new("elicitation/accept", "2025-11-25");
        case.verdicts = vec![
            verdict("a.passes", Level::Must, Outcome::Pass),
            verdict("b.fails", Level::Must, Outcome::Fail),
            verdict("c.warns", Level::Should, Outcome::Warn),
            verdict("d.unseen", Level::Must, Outcome::NotObserved),
            verdict("e.expected", Level::Must, Outcome::Fail),
        ];
        let baseline =
            Baseline::parse("elicitation/accept@2025-11-25 e.expected  # known\n").unwrap();
        let summary = Summary::of(std::slice::from_ref(&case), &baseline);
        let xml = junit(&[case], &summary);
        let case_of = |name: &str| {
            let start = xml.find(&format!("<testcase name=\"{name}\"")).unwrap();
            let end = start + xml[start..].find("</testcase>").unwrap();
            xml[start..end].to_owned()
        };
        assert!(
            xml.contains("<testsuite name=\"elicitation/accept@2025-11-25\""),
            "{xml}"
        );
        assert!(!case_of("a.passes").contains("<failure"));
        let failed = case_of("b.fails");
        assert!(
            failed.contains("<failure message=\"broke a MUST (specification/2025-11-25/b.fails): [record 7] b.fails broke; expected it kept\""),
            "{failed}"
        );
        let warned = case_of("c.warns");
        assert!(
            !warned.contains("<failure") && warned.contains("warning: broke a SHOULD"),
            "{warned}"
        );
        assert!(case_of("d.unseen").contains("<skipped message=\"not observed"));
        assert!(case_of("e.expected").contains("<skipped message=\"expected failure (baseline)"));
        assert!(xml.contains("failures=\"1\""), "{xml}");
    }

    /// A chaos case whose declared cut never fired.
    fn unexercised(scenario: &str, verdicts: Vec<Verdict>) -> CaseResult {
        let mut case = CaseResult::new(scenario, "2025-11-25");
        case.verdicts = verdicts;
        case.unexercised = vec![mcp_harness_checks::Unexercised {
            seq: 3,
            fault: mcp_harness_wire::Fault::stream(mcp_harness_wire::StreamFault::Cut { after: 2 }),
            reason: "no request matched the fault `cut`: the selected stream never opened".into(),
        }];
        case
    }

    #[test]
    fn a_case_whose_fault_never_fired_is_neither_passed_nor_failed_in_every_format() {
        let idle = unexercised(
            "streams/cut",
            vec![verdict("a.passes", Level::Must, Outcome::Pass)],
        );
        let broken = unexercised(
            "streams/other",
            vec![verdict("b.fails", Level::Must, Outcome::Fail)],
        );
        let mut clean = CaseResult::new("elicitation/accept", "2025-11-25");
        clean.verdicts = vec![verdict("a.passes", Level::Must, Outcome::Pass)];
        let cases = vec![idle, broken, clean];
        let summary = Summary::of(&cases, &Baseline::default());
        assert_eq!(
            summary.outcome_of("streams/cut@2025-11-25"),
            CaseOutcome::NotExercised
        );
        assert_eq!(
            summary.outcome_of("streams/other@2025-11-25"),
            CaseOutcome::Failed,
            "a rule broken is a finding whether or not the fault fired"
        );
        assert_eq!(
            summary.outcome_of("elicitation/accept@2025-11-25"),
            CaseOutcome::Passed
        );
        assert_eq!(summary.passed_cases(), 1);
        let without_the_failure = [cases[0].clone(), cases[2].clone()];
        assert!(
            Summary::of(&without_the_failure, &Baseline::default()).passed(),
            "not exercised does not fail the run"
        );
        assert!(
            summary
                .closing_line()
                .starts_with("1 passed, 1 failed, 0 skipped, 1 fault not exercised"),
            "{}",
            summary.closing_line()
        );
        let text = human_case(&cases[0], &summary);
        assert!(
            text.starts_with("UNEXERCISED streams/cut@2025-11-25\n"),
            "{text}"
        );
        assert!(
            text.contains("fault not exercised: no request matched"),
            "{text}"
        );
        let xml = junit(&cases, &summary);
        assert!(
            xml.contains("<testcase name=\"fault\"")
                && xml.contains("fault not exercised: no request matched"),
            "{xml}"
        );
        let json = json_report(&cases, &summary).to_string();
        assert!(
            json.contains("\"not_exercised_cases\":[\"streams/cut@2025-11-25\"]"),
            "{json}"
        );
        assert!(json.contains("\"unexercised\":[{"), "{json}");
    }

    #[test]
    fn a_case_that_lost_a_call_and_left_a_fault_unexercised_is_lost_or_unexercised() {
        let mut case = unexercised(
            "streams/two",
            vec![verdict("a.passes", Level::Must, Outcome::Pass)],
        );
        case.resilience = mcp_harness_checks::Resilience::Lost {
            calls: 1,
            lost: vec![mcp_harness_checks::LostCall {
                seq: 9,
                detail: "never answered".into(),
            }],
        };
        let cases = [case];
        let mut summary = Summary::of(&cases, &Baseline::default());
        assert_eq!(
            summary.outcome_of("streams/two@2025-11-25"),
            CaseOutcome::Lost
        );
        assert_eq!(
            (summary.passed_cases(), summary.unexercised_count()),
            (0, 0)
        );
        summary.ignore_resilience();
        assert_eq!(
            summary.outcome_of("streams/two@2025-11-25"),
            CaseOutcome::NotExercised,
            "--conformance-only: the unfired fault still shows"
        );
        assert_eq!(
            (summary.passed_cases(), summary.unexercised_count()),
            (0, 1)
        );
    }

    #[test]
    fn a_baseline_line_with_a_former_id_finds_the_case_under_either() {
        let baseline = Baseline::parse("travel/accept@2025-11-25 e.x  # old\n").unwrap();
        assert!(baseline.expects("elicitation/accept@2025-11-25", "e.x"));
        // A folder exported before the move still runs the old id.
        assert!(baseline.expects("travel/accept@2025-11-25", "e.x"));
        assert!(!baseline.expects("elicitation/accept@2025-06-18", "e.x"));
        assert!(baseline.notes[0].contains("is a former id, now `elicitation/accept@2025-11-25`"));
    }

    #[test]
    fn baselines_parse_and_refuse_nonsense() {
        let baseline = Baseline::parse(
            "# known\ntravel/accept@2025-06-18 progress.increasing  # their bug\n\n",
        )
        .unwrap();
        assert!(baseline.expects("elicitation/accept@2025-06-18", "progress.increasing"));
        assert!(!baseline.expects("elicitation/accept@2025-06-18", "other"));
        assert!(matches!(
            Baseline::parse("# known\njust-one-word"),
            Err(BaselineError::NotAnEntry { line: 2, .. })
        ));
        let error = Baseline::parse("noversion check").unwrap_err();
        assert_eq!(
            error,
            BaselineError::NoVersion {
                line: 1,
                case: "noversion".into()
            }
        );
        assert!(error.to_string().contains("scenario@version"), "{error}");
    }
}
