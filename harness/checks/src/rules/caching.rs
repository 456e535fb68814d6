//! Caching hints (2026-07-28, SEP-2549): a complete result of a cacheable
//! method carries `ttlMs` (an integer, at least 0) and `cacheScope`
//! (`public` or `private`).
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use serde_json::Value;

use super::support::{answers, method_of, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The methods whose complete results are cacheable.
const CACHEABLE: [&str; 6] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[Check {
    id: "cache.hints",
    rules: &[Rule {
        versions: Versions::MODERN,
        level: Level::Must,
        section: "server/utilities/caching#cacheable-results",
        quote: "Servers MUST include caching hints on results with resultType: \"complete\" returned by the following operations: server/discover, tools/list, prompts/list, resources/list, resources/templates/list, resources/read. ttlMs is an integer value in milliseconds; cacheScope is \"public\" or \"private\".",
    }],
    needs: Needs::Nothing,
    transports: Transports::Both,
    run: cacheable_results_hinted,
}];

/// What is wrong with the caching hints of `result`, if anything.
fn hint_problem(result: &Value) -> Option<String> {
    let ttl = result.get("ttlMs");
    let scope = result.get("cacheScope").and_then(Value::as_str);
    match (ttl, scope) {
        (None, _) => Some("no ttlMs".into()),
        (Some(t), _) if t.as_u64().is_none() => {
            Some(format!("ttlMs {t}, not an integer of at least 0"))
        }
        (_, None) => Some("no cacheScope".into()),
        (_, Some(s)) if !matches!(s, "public" | "private") => {
            Some(format!("cacheScope `{s}`, not public or private"))
        }
        _ => None,
    }
}

fn cacheable_results_hinted(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for answered in answers(a) {
        let method = method_of(answered.request).unwrap_or("");
        if !CACHEABLE.contains(&method) {
            continue;
        }
        let Some(result) = answered.result() else {
            continue;
        };
        let complete = result.get("resultType").and_then(Value::as_str) == Some("complete");
        if !complete {
            continue; // interim results carry no hints (and resultType is judged elsewhere)
        }
        judged.examined += 1;
        if let Some(problem) = hint_problem(result) {
            judged.findings.push(Finding::at(
                answered.seq,
                format!("the {method} result has {problem}: {}", short(result)),
                "ttlMs (an integer, at least 0) and cacheScope (public or private)",
            ));
        }
    }
    judged
}
