//! Pagination of every list method: a cursor the server issued leads to a page
//! (stable cursors), a listing never gives the same cursor twice, and an
//! invalid cursor is refused with -32602. The harness sends
//! [`INVALID_CURSOR`] to see the refusal.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::BTreeSet;

use serde_json::Value;

use super::support::{answered, error_code, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// A cursor no server issues: the harness sends it to see it refused.
pub const INVALID_CURSOR: &str = "mcp-harness:invalid-cursor";

/// The paginated list methods.
const LISTS: &[&str] = &[
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "prompts/list",
];

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "pagination.cursors_stable",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Should,
            section: "server/utilities/pagination#implementation-guidelines",
            quote: "Servers SHOULD: Provide stable cursors; Handle invalid cursors gracefully (a `nextCursor` the server gave, sent back at once, leads to the next page, and a listing does not loop)",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: cursors_stable,
    },
    Check {
        id: "pagination.invalid_cursor_32602",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Should,
            section: "server/utilities/pagination#error-handling",
            quote: "Invalid cursors SHOULD result in an error with code -32602 (Invalid params).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: invalid_cursor_refused,
    },
];

fn cursors_stable(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for method in LISTS {
        // The cursors the server issued in the current listing.
        let mut issued: BTreeSet<String> = BTreeSet::new();
        for page in answered(a, method) {
            let sent = page
                .request
                .pointer("/params/cursor")
                .and_then(Value::as_str);
            if sent == Some(INVALID_CURSOR) {
                continue; // judged by pagination.invalid_cursor_32602
            }
            if sent.is_none() {
                issued.clear();
            }
            if let Some(sent) = sent
                && issued.contains(sent)
            {
                judged.examined += 1;
                if let Some(error) = page.answer.get("error") {
                    judged.findings.push(Finding::at(
                        page.seq,
                        format!(
                            "{method} with the cursor `{sent}` the server gave answered with error {}",
                            short(error)
                        ),
                        "the next page",
                    ));
                }
            }
            if let Some(next) = page
                .result()
                .and_then(|r| r.get("nextCursor"))
                .and_then(Value::as_str)
            {
                judged.examined += 1;
                if !issued.insert(next.to_owned()) {
                    judged.findings.push(Finding::at(
                        page.seq,
                        format!("{method} gave the cursor `{next}` a second time in one listing"),
                        "a listing that ends: each cursor once",
                    ));
                }
            }
        }
    }
    judged
}

fn invalid_cursor_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for method in LISTS {
        for page in answered(a, method) {
            if page
                .request
                .pointer("/params/cursor")
                .and_then(Value::as_str)
                != Some(INVALID_CURSOR)
            {
                continue;
            }
            judged.examined += 1;
            let observed = match error_code(page.answer) {
                Some(-32602) => continue,
                Some(code) => format!(
                    "{method} with the invalid cursor `{INVALID_CURSOR}` answered with error code {code}"
                ),
                None => format!(
                    "{method} with the invalid cursor `{INVALID_CURSOR}` answered with a page: {}",
                    short(page.answer.get("result").unwrap_or(page.answer))
                ),
            };
            judged
                .findings
                .push(Finding::at(page.seq, observed, "an error with code -32602"));
        }
    }
    judged
}
