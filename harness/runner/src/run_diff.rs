//! Two runs compared (`mcp-harness diff OLD NEW`): what a change to a server
//! broke and what it fixed, case by case and check by check, so a pull
//! request can be gated on regressions rather than on every known failure.
//! A regression is a check that fails now and did not, a case that now ends
//! in an error, or a call now lost to a fault; a new warning, a fixed
//! failure, a case added, gone or newly skipped is reported, not gated.
//! Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use mcp_harness_checks::Outcome;
use serde::Serialize;

use crate::run::CaseResult;

/// A check's finding in one case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CaseCheck {
    /// `scenario@version`.
    pub case: String,
    /// The check id.
    pub check: String,
}

/// What changed from one run to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunDiff {
    /// Checks that fail now and did not (in a case that ran both times, or
    /// in a case new to this run).
    pub new_failures: Vec<CaseCheck>,
    /// Checks that warn now and neither warned nor failed before.
    pub new_warnings: Vec<CaseCheck>,
    /// Checks that failed or warned before and pass now (the case ran both times).
    pub fixed: Vec<CaseCheck>,
    /// Cases that end in an error now and did not, with the error.
    pub new_errors: Vec<(String, String)>,
    /// Cases that ended in an error before and do not now.
    pub errors_gone: Vec<String>,
    /// Cases that lose a call to a fault now and did not.
    pub newly_lost: Vec<String>,
    /// Cases that lost a call before and do not now.
    pub no_longer_lost: Vec<String>,
    /// Cases run now and absent before.
    pub cases_added: Vec<String>,
    /// Cases of the old run absent now.
    pub cases_gone: Vec<String>,
    /// Cases that ran before and are skipped now (what they judged is no
    /// longer judged), with the reason.
    pub newly_skipped: Vec<(String, String)>,
}

impl RunDiff {
    /// Whether something regressed: a new failure, a new error or a call
    /// newly lost.
    pub fn regressed(&self) -> bool {
        !self.new_failures.is_empty() || !self.new_errors.is_empty() || !self.newly_lost.is_empty()
    }

    /// Whether nothing at all changed.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What a case amounts to, for comparing.
struct CaseState<'a> {
    skipped: Option<&'a str>,
    error: Option<&'a str>,
    lost: bool,
    failing: BTreeSet<&'a str>,
    warning: BTreeSet<&'a str>,
}

impl<'a> CaseState<'a> {
    fn of(case: &'a CaseResult) -> Self {
        let with = |outcome: Outcome| {
            case.verdicts
                .iter()
                .filter(|v| v.outcome == outcome)
                .map(|v| v.check.as_str())
                .collect::<BTreeSet<&str>>()
        };
        Self {
            skipped: case.skipped.as_deref(),
            error: case.error.as_deref(),
            lost: case.lost_a_call(),
            failing: with(Outcome::Fail),
            warning: with(Outcome::Warn),
        }
    }
}

/// `cases` by `scenario@version`.
fn by_name(cases: &[CaseResult]) -> BTreeMap<String, &CaseResult> {
    cases.iter().map(|c| (c.name(), c)).collect()
}

/// The changes from `old` to `new`, each list in case then check order.
pub fn diff(old: &[CaseResult], new: &[CaseResult]) -> RunDiff {
    let (before, after) = (by_name(old), by_name(new));
    let mut d = RunDiff::default();
    let entry = |case: &str, check: &str| CaseCheck {
        case: case.to_owned(),
        check: check.to_owned(),
    };
    for (name, case) in &after {
        let now = CaseState::of(case);
        let Some(then) = before.get(name).map(|c| CaseState::of(c)) else {
            d.cases_added.push(name.clone());
            if now.skipped.is_none() {
                d.new_failures
                    .extend(now.failing.iter().map(|check| entry(name, check)));
                d.new_warnings
                    .extend(now.warning.iter().map(|check| entry(name, check)));
                d.new_errors
                    .extend(now.error.map(|e| (name.clone(), e.to_owned())));
                if now.lost {
                    d.newly_lost.push(name.clone());
                }
            }
            continue;
        };
        match (then.skipped, now.skipped) {
            (None, Some(reason)) => {
                d.newly_skipped.push((name.clone(), reason.to_owned()));
                continue;
            }
            (_, Some(_)) => continue,
            _ => {}
        }
        let ran_before = then.skipped.is_none();
        for check in now.failing.difference(&then.failing) {
            d.new_failures.push(entry(name, check));
        }
        for check in now.warning.iter() {
            if !then.warning.contains(check) && !then.failing.contains(check) {
                d.new_warnings.push(entry(name, check));
            }
        }
        if ran_before {
            for check in then.failing.union(&then.warning) {
                if !now.failing.contains(check) && !now.warning.contains(check) {
                    d.fixed.push(entry(name, check));
                }
            }
        }
        match (then.error, now.error) {
            (None, Some(error)) => d.new_errors.push((name.clone(), error.to_owned())),
            (Some(_), None) => d.errors_gone.push(name.clone()),
            _ => {}
        }
        match (then.lost, now.lost) {
            (false, true) => d.newly_lost.push(name.clone()),
            (true, false) => d.no_longer_lost.push(name.clone()),
            _ => {}
        }
    }
    d.cases_gone = before
        .keys()
        .filter(|name| !after.contains_key(*name))
        .cloned()
        .collect();
    d.fixed.sort();
    d
}

/// The diff in words, a line per change, the regressions first; the last
/// line says whether anything regressed.
pub fn human(d: &RunDiff) -> String {
    let mut out = String::new();
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push_str(&format!("{title} ({}):\n", lines.len()));
            for line in lines {
                out.push_str(&format!("  {line}\n"));
            }
        }
    };
    let checks = |list: &[CaseCheck]| -> Vec<String> {
        list.iter()
            .map(|c| format!("{} {}", c.case, c.check))
            .collect()
    };
    section("new failures", checks(&d.new_failures));
    section(
        "new errors",
        d.new_errors
            .iter()
            .map(|(case, error)| format!("{case}: {error}"))
            .collect(),
    );
    section("calls newly lost to a fault", d.newly_lost.clone());
    section("new warnings", checks(&d.new_warnings));
    section("fixed", checks(&d.fixed));
    section("errors gone", d.errors_gone.clone());
    section("no longer losing a call", d.no_longer_lost.clone());
    section(
        "skipped now (no longer judged)",
        d.newly_skipped
            .iter()
            .map(|(case, reason)| format!("{case}: {reason}"))
            .collect(),
    );
    section("cases added", d.cases_added.clone());
    section("cases gone", d.cases_gone.clone());
    out.push_str(if d.regressed() {
        "regressed: a check fails, a case errs or a call is lost that did not before\n"
    } else if d.is_empty() {
        "no change\n"
    } else {
        "no regression\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_harness_checks::{Level, Verdict};

    fn case(name: &str, outcomes: &[(&str, Outcome)]) -> CaseResult {
        let (scenario, version) = name.split_once('@').unwrap();
        let mut case = CaseResult::new(scenario, version);
        case.verdicts = outcomes
            .iter()
            .map(|(check, outcome)| Verdict {
                check: (*check).to_owned(),
                citation: String::new(),
                level: Level::Must,
                version: version.to_owned(),
                outcome: outcome.clone(),
                examined: 1,
                findings: Vec::new(),
            })
            .collect();
        case
    }

    #[test]
    fn a_new_failure_regresses_and_a_fixed_one_does_not() {
        let old = [
            case("a@1", &[("x", Outcome::Pass), ("y", Outcome::Fail)]),
            case("b@1", &[("x", Outcome::Pass)]),
            case("gone@1", &[("x", Outcome::Pass)]),
        ];
        let new = [
            case("a@1", &[("x", Outcome::Fail), ("y", Outcome::Pass)]),
            case("b@1", &[("x", Outcome::Warn)]),
            case("added@1", &[("x", Outcome::Pass)]),
        ];
        let d = diff(&old, &new);
        let at = |case: &str, check: &str| CaseCheck {
            case: case.into(),
            check: check.into(),
        };
        assert_eq!(d.new_failures, [at("a@1", "x")]);
        assert_eq!(d.fixed, [at("a@1", "y")]);
        assert_eq!(d.new_warnings, [at("b@1", "x")]);
        assert_eq!(d.cases_added, ["added@1"]);
        assert_eq!(d.cases_gone, ["gone@1"]);
        assert!(d.regressed());
        // The other way round: the failure is fixed, the old one back.
        let back = diff(&new, &old);
        assert_eq!(back.new_failures, [at("a@1", "y")]);
        assert_eq!(back.fixed, [at("a@1", "x"), at("b@1", "x")]);
        assert!(human(&back).ends_with(
            "regressed: a check fails, a case errs or a call is lost that did not before\n"
        ));
    }

    #[test]
    fn errors_skips_and_no_change() {
        let old = [case("a@1", &[("x", Outcome::Pass)]), case("b@1", &[])];
        let mut erring = case("a@1", &[("x", Outcome::Pass)]);
        erring.error = Some("could not start a session".into());
        let mut skipped = case("b@1", &[]);
        skipped.skipped = Some("no tool for role Elicits".into());
        let d = diff(&old, &[erring, skipped]);
        assert_eq!(
            d.new_errors,
            [("a@1".to_owned(), "could not start a session".to_owned())]
        );
        assert_eq!(
            d.newly_skipped,
            [("b@1".to_owned(), "no tool for role Elicits".to_owned())]
        );
        assert!(d.regressed());
        let same = diff(&old, &old);
        assert!(same.is_empty() && !same.regressed());
        assert_eq!(human(&same), "no change\n");
        // A fixed failure alone is a change, not a regression.
        let fixed = diff(&[case("a@1", &[("x", Outcome::Fail)])], &old[..1]);
        assert!(!fixed.regressed());
        assert!(human(&fixed).contains("fixed (1):\n  a@1 x\n"));
        assert!(human(&fixed).ends_with("no regression\n"));
    }
}
