//! The small utilities: `ping` answered with an empty result (before
//! 2026-07-28, which removed it), and completions of at most 100 values.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use serde_json::Value;

use super::support::{answered, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "ping.empty_result",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/utilities/ping#behavior-requirements",
            quote: "The receiver MUST respond promptly with an empty response",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: ping_empty,
    },
    Check {
        id: "completion.at_most_100",
        rules: &[Rule {
            versions: Versions::from("2025-03-26"),
            level: Level::Must,
            section: "server/utilities/completion#completion-results",
            quote: "Servers return an array of completion values ranked by relevance, with: Maximum 100 items per response (schema: values \"Must not exceed 100 items\")",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: at_most_100,
    },
];

fn ping_empty(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for ping in answered(a, "ping") {
        judged.examined += 1;
        let observed = match ping.result() {
            Some(Value::Object(fields)) if fields.keys().all(|k| k == "_meta") => continue,
            Some(other) => format!("ping answered with the result {}", short(other)),
            None => format!("ping answered with {}", short(ping.answer)),
        };
        judged
            .findings
            .push(Finding::at(ping.seq, observed, "an empty result `{}`"));
    }
    judged
}

fn at_most_100(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for completion in answered(a, "completion/complete") {
        let Some(values) = completion
            .result()
            .and_then(|r| r.pointer("/completion/values"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        judged.examined += 1;
        if values.len() > 100 {
            judged.findings.push(Finding::at(
                completion.seq,
                format!("completion/complete answered with {} values", values.len()),
                "at most 100 values (with `hasMore` for the rest)",
            ));
        }
    }
    judged
}
