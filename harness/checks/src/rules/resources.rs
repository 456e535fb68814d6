//! Resources: a read of a resource that does not exist is answered with the
//! error code of the version (-32002 before 2026-07-28, -32602 from it).
//! A check cannot know on its own which URIs a server lacks, so it judges
//! the reads of [`MISSING_RESOURCE_URI`], a URI no server serves, which the
//! scenario `resources/read_missing` asks for.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use serde_json::Value;

use super::support::{answered, error_code, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// A resource URI no server serves: the harness reads it to see the
/// "resource not found" answer.
pub const MISSING_RESOURCE_URI: &str = "mcp-harness:///no-such-resource";

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[Check {
    id: "resources.not_found_code",
    rules: &[
        Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "server/resources#error-handling",
            quote: "Servers SHOULD return standard JSON-RPC errors for common failure cases: Resource not found: -32002",
        },
        Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "server/resources#error-handling",
            quote: "Resource not found: -32602 (Invalid Params), the JSON-RPC code for a URI the server does not have (SEP-2164); an empty contents array is not an answer",
        },
    ],
    needs: Needs::Nothing,
    transports: Transports::Both,
    run: not_found_code,
}];

/// The code a "resource not found" error carries in `version`.
fn not_found_code_in(version: &str) -> i64 {
    if crate::analysis::is_modern_version(version) {
        -32602
    } else {
        -32002
    }
}

fn not_found_code(a: &Analysis) -> Judged {
    let wanted = not_found_code_in(&a.version);
    let mut judged = Judged::default();
    for read in answered(a, "resources/read") {
        if read.request.pointer("/params/uri").and_then(Value::as_str) != Some(MISSING_RESOURCE_URI)
        {
            continue;
        }
        let (seq, answer) = (read.seq, read.answer);
        judged.examined += 1;
        let observed = match error_code(answer) {
            Some(code) if code == wanted => continue,
            Some(code) => format!(
                "a read of `{MISSING_RESOURCE_URI}` (which no server has) answered with error code {code}"
            ),
            None => format!(
                "a read of `{MISSING_RESOURCE_URI}` (which no server has) succeeded: {}",
                short(answer.get("result").unwrap_or(answer))
            ),
        };
        judged.findings.push(Finding::at(
            seq,
            observed,
            format!("an error with code {wanted} in {}", a.version),
        ));
    }
    judged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_changes_with_2026_07_28() {
        assert_eq!(not_found_code_in("2025-11-25"), -32002);
        assert_eq!(not_found_code_in("2024-11-05"), -32002);
        assert_eq!(not_found_code_in("2026-07-28"), -32602);
    }
}
