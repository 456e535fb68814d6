//! Tools as listed: every schema a valid JSON Schema, names unique and made of
//! the allowed characters (from 2025-11-25), and (2026-07-28) the same order on
//! every listing. Judged on `tools/list` answers, page by page: a request
//! without a cursor starts a new listing.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::BTreeMap;

use serde_json::Value;

use super::support::{answered, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "tools.schemas_valid",
        rules: &[Rule {
            versions: Versions::from("2025-11-25"),
            level: Level::Must,
            section: "server/tools#tool",
            quote: "inputSchema: JSON Schema defining the expected parameters for the tool ... MUST be a valid JSON Schema object (not null); and (basic#schema-validation) Schemas MUST be valid according to their declared or default dialect (2020-12 without `$schema`)",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: schemas_valid,
    },
    Check {
        id: "tools.names_unique",
        rules: &[Rule {
            versions: Versions::from("2025-11-25"),
            level: Level::Should,
            section: "server/tools#tool-names",
            quote: "Tool names SHOULD be unique within a server.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: names_unique,
    },
    Check {
        id: "tools.name_characters",
        rules: &[Rule {
            versions: Versions::from("2025-11-25"),
            level: Level::Should,
            section: "server/tools#tool-names",
            quote: "Tool names SHOULD be between 1 and 128 characters in length (inclusive). The following SHOULD be the only allowed characters: uppercase and lowercase ASCII letters (A-Z, a-z), digits (0-9), underscore (_), hyphen (-), and dot (.)",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: name_characters,
    },
    Check {
        id: "tools.deterministic_order",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: "server/tools#capabilities",
            quote: "Servers SHOULD return tools in a deterministic order (i.e., the same ordering across requests when the underlying set of tools has not changed).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: deterministic_order,
    },
];

/// One tool as listed: the record of its page and the tool.
type Listed<'a> = (u64, &'a Value);

/// Every listing of `tools/list`: the tools of its pages, in order. A request
/// without a cursor starts a listing; one with a cursor goes on with it.
fn listings(a: &Analysis) -> Vec<Vec<Listed<'_>>> {
    let mut out: Vec<Vec<Listed<'_>>> = Vec::new();
    for page in answered(a, "tools/list") {
        let Some(tools) = page
            .result()
            .and_then(|r| r.get("tools"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        let cursor = page
            .request
            .pointer("/params/cursor")
            .and_then(Value::as_str);
        if cursor == Some(super::pagination::INVALID_CURSOR) {
            continue; // a probe of the refusal, not a page of a listing
        }
        if cursor.is_none() || out.is_empty() {
            out.push(Vec::new());
        }
        if let Some(listing) = out.last_mut() {
            listing.extend(tools.iter().map(|t| (page.seq, t)));
        }
    }
    out
}

fn name_of(tool: &Value) -> &str {
    tool.get("name").and_then(Value::as_str).unwrap_or("")
}

/// Whether `schema` names a dialect the validator does not bundle (judged by
/// no one: the rule lets a server use any dialect it documents).
fn unknown_dialect(schema: &Value) -> bool {
    schema
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|uri| !uri.contains("json-schema.org/"))
}

fn schemas_valid(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (seq, tool) in listings(a).into_iter().flatten() {
        for key in ["inputSchema", "outputSchema"] {
            let Some(schema) = tool.get(key) else {
                continue;
            };
            judged.examined += 1;
            if schema.is_null() {
                judged.findings.push(Finding::at(
                    seq,
                    format!("tool `{}` has a null {key}", name_of(tool)),
                    "a JSON Schema object",
                ));
                continue;
            }
            if unknown_dialect(schema) {
                continue;
            }
            let problem = jsonschema::meta::validate(schema)
                .err()
                .map(|e| format!("{e} at `{}`", e.instance_path()));
            if let Some(problem) = problem {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "tool `{}`: {key} {} is not a valid JSON Schema: {problem}",
                        name_of(tool),
                        short(schema)
                    ),
                    "a schema valid for its declared or default (2020-12) dialect",
                ));
            }
        }
    }
    judged
}

fn names_unique(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for listing in listings(a) {
        let mut seen: BTreeMap<&str, u64> = BTreeMap::new();
        for (seq, tool) in listing {
            judged.examined += 1;
            let name = name_of(tool);
            if let Some(first) = seen.insert(name, seq) {
                judged.findings.push(Finding::at(
                    seq,
                    format!("tool `{name}` listed again (first at record {first})"),
                    "each tool name once in a listing",
                ));
            }
        }
    }
    judged
}

/// Why `name` breaks the naming rule, if it does.
pub fn bad_tool_name(name: &str) -> Option<String> {
    let length = name.chars().count();
    if !(1..=128).contains(&length) {
        return Some(format!("is {length} characters long"));
    }
    let bad: String = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .collect();
    (!bad.is_empty()).then(|| format!("has the characters {bad:?}"))
}

fn name_characters(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (seq, tool) in listings(a).into_iter().flatten() {
        judged.examined += 1;
        let name = name_of(tool);
        if let Some(why) = bad_tool_name(name) {
            judged.findings.push(Finding::at(
                seq,
                format!("tool name {name:?} {why}"),
                "1 to 128 characters of A-Z, a-z, 0-9, `_`, `-` and `.`",
            ));
        }
    }
    judged
}

fn deterministic_order(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let all = listings(a);
    let Some(first) = all.first() else {
        return judged;
    };
    let order = |l: &[Listed<'_>]| {
        l.iter()
            .map(|(_, t)| name_of(t).to_owned())
            .collect::<Vec<_>>()
    };
    let expected = order(first);
    for listing in all.iter().skip(1) {
        judged.examined += 1;
        let got = order(listing);
        let mut sorted_got = got.clone();
        let mut sorted_expected = expected.clone();
        sorted_got.sort();
        sorted_expected.sort();
        // Another set of tools is a change, not a reordering.
        if got != expected && sorted_got == sorted_expected {
            judged.findings.push(Finding::at(
                listing.first().map_or(0, |(seq, _)| *seq),
                format!("tools listed as {got:?} after {expected:?}"),
                "the same order on every listing of the same tools",
            ));
        }
    }
    judged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_by_the_rule() {
        assert_eq!(bad_tool_name("travel_agent"), None);
        assert_eq!(bad_tool_name("a.b-c_D9"), None);
        assert!(bad_tool_name("").is_some());
        assert!(bad_tool_name(&"x".repeat(129)).is_some());
        assert!(bad_tool_name("book trip").unwrap().contains(r#"" ""#));
        assert!(bad_tool_name("a,b").is_some());
        assert!(bad_tool_name("café").is_some());
    }
}
