//! The checks of mcp-harness: each a pure function from a transcript to a
//! verdict, declared once with its id, level, spec citation and versions.
//! No I/O, no clocks: the same transcript always gives the same verdicts.
#![warn(missing_docs)]

pub mod analysis;
pub mod catalog;
pub mod check;
pub mod exercised;
pub mod expectations;
pub mod resilience;
mod rules;
pub mod schema;
pub mod verdict;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use analysis::{Analysis, is_modern_version};
pub use catalog::{
    INVALID_CURSOR, MISSING_RESOURCE_URI, UNKNOWN_METHOD, area_of, areas, catalog, client_catalog,
    is_response,
};
pub use check::{Check, Judged, Needs, Rule, Transports, Versions};
pub use exercised::{Unexercised, unexercised_faults};
pub use expectations::StepResult;
use mcp_harness_wire::Transcript;
pub use resilience::{LostCall, Resilience, resilience};
pub use verdict::{Finding, Level, Outcome, Tally, Verdict};

/// Judge `transcript` with every check of the catalog.
pub fn judge(transcript: &Transcript) -> Vec<Verdict> {
    judge_analysis(&Analysis::of(transcript))
}

/// Judge an analysed transcript with every check of the catalog (when the
/// caller needs the analysis too, e.g. for [`resilience`]).
pub fn judge_analysis(analysis: &Analysis) -> Vec<Verdict> {
    catalog()
        .iter()
        .map(|check| judge_one(check, analysis))
        .collect()
}

/// Judge `transcript` with every check of the client catalog (the client under
/// test is the one that spoke to the proxy).
pub fn judge_client(transcript: &Transcript) -> Vec<Verdict> {
    let analysis = Analysis::of(transcript);
    client_catalog()
        .iter()
        .map(|check| judge_one(check, &analysis))
        .collect()
}

/// Judge one check on an analysed transcript.
pub fn judge_one(check: &Check, analysis: &Analysis) -> Verdict {
    let version = analysis.version.clone();
    let mut verdict = Verdict {
        check: check.id.to_owned(),
        level: check.level_in(&version),
        citation: check.citation(&version),
        version: version.clone(),
        outcome: Outcome::NotObserved,
        examined: 0,
        findings: Vec::new(),
    };
    let Some(rule) = check.rule(&version) else {
        verdict.outcome = Outcome::Skipped(format!("no such rule in {version}"));
        return verdict;
    };
    match (check.transports, analysis.is_stdio()) {
        (Transports::HttpOnly, true) => {
            verdict.outcome =
                Outcome::Skipped("a rule of streamable HTTP: this transcript is stdio".into());
            return verdict;
        }
        (Transports::StdioOnly, false) => {
            verdict.outcome = Outcome::Skipped("a rule of stdio: this transcript is HTTP".into());
            return verdict;
        }
        _ => {}
    }
    if check.needs == Needs::ServerTasks && !analysis.server_declares_tasks() {
        verdict.outcome = Outcome::Skipped("the server did not declare tasks".into());
        return verdict;
    }
    match catch_unwind(AssertUnwindSafe(|| (check.run)(analysis))) {
        Ok(judged) => {
            verdict.examined = judged.examined;
            verdict.outcome = judged.outcome(rule.level);
            verdict.findings = judged.findings;
        }
        Err(panic) => {
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the check panicked".into());
            verdict.outcome = Outcome::Unknown(cause);
        }
    }
    verdict
}
