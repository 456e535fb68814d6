//! The stateless start of 2026-07-28: `server/discover` answered with the
//! versions and capabilities, a request in a version the server does not
//! speak refused with `UnsupportedProtocolVersionError` (-32022) listing the
//! versions it does, and a request without the required `_meta` fields
//! refused with -32602 and HTTP 400; and every result naming its server
//! in `_meta` (`io.modelcontextprotocol/serverInfo`).
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use serde_json::Value;

use super::support::{Answered, answered, answers, error_code, short};
use crate::analysis::{Analysis, KNOWN_VERSIONS};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

const VERSION_FIELD: &str = "io.modelcontextprotocol/protocolVersion";
const CAPABILITIES_FIELD: &str = "io.modelcontextprotocol/clientCapabilities";

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "discover.answered",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "server/discover",
            quote: "server/discover lets a client query a server's supported protocol versions, capabilities, and identity before sending any other requests. Servers MUST implement it.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: discover_answered,
    },
    Check {
        id: "version.unsupported_error",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "basic/versioning#protocol-version-negotiation",
            quote: "If the server does not implement the requested version (whether the version is unknown to the server, or is a known version the server has chosen not to support), it MUST respond with an UnsupportedProtocolVersionError listing the versions it does support",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: unsupported_version_refused,
    },
    Check {
        id: "meta.required_fields",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "basic#meta",
            quote: "A request missing any required field is malformed; the server MUST reject it with JSON-RPC error code -32602 (Invalid params). On HTTP, the response status MUST be 400 Bad Request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: missing_meta_refused,
    },
    Check {
        id: "meta.server_info",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: "basic#meta",
            quote: "Servers SHOULD include the following io.modelcontextprotocol/* field in every result's _meta, unless specifically configured not to do so, to identify themselves without relying on any prior connection state: io.modelcontextprotocol/serverInfo (Implementation: server name and version).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: results_name_their_server,
    },
];

const SERVER_INFO_FIELD: &str = "io.modelcontextprotocol/serverInfo";

fn results_name_their_server(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let mut unnamed: Vec<(u64, String)> = Vec::new();
    for answered in answers(a) {
        let Some(result) = answered.result() else {
            continue;
        };
        judged.examined += 1;
        let info = result.get("_meta").and_then(|m| m.get(SERVER_INFO_FIELD));
        let named = info.is_some_and(|i| {
            i.get("name").is_some_and(Value::is_string)
                && i.get("version").is_some_and(Value::is_string)
        });
        if !named {
            let method = answered
                .request
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("?");
            unnamed.push((answered.seq, method.to_owned()));
        }
    }
    // One finding per method, at its first result: a server that leaves it out
    // leaves it out of every result of that kind.
    let mut seen = std::collections::BTreeSet::new();
    for (seq, method) in unnamed {
        if seen.insert(method.clone()) {
            judged.findings.push(Finding::at(
                seq,
                format!("the result of {method} has no _meta.{SERVER_INFO_FIELD}"),
                "_meta.io.modelcontextprotocol/serverInfo with the server's name and version",
            ));
        }
    }
    judged
}

fn discover_answered(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Answered {
        request,
        seq,
        answer,
        ..
    } in answered(a, "server/discover")
    {
        let asked = request
            .pointer("/params/_meta")
            .and_then(|m| m.get(VERSION_FIELD))
            .and_then(Value::as_str);
        if asked.is_some_and(|v| !KNOWN_VERSIONS.contains(&v)) {
            continue; // judged by version.unsupported_error
        }
        judged.examined += 1;
        let problem = match answer.get("result") {
            None => Some(format!("server/discover answered with {}", short(answer))),
            Some(result) => {
                let versions = result
                    .get("supportedVersions")
                    .and_then(Value::as_array)
                    .filter(|v| !v.is_empty() && v.iter().all(Value::is_string));
                match (
                    versions,
                    result.get("capabilities").and_then(Value::as_object),
                ) {
                    (Some(_), Some(_)) => None,
                    (None, _) => Some(format!(
                        "server/discover answered without its supported versions: {}",
                        short(result)
                    )),
                    (_, None) => Some(format!(
                        "server/discover answered without its capabilities: {}",
                        short(result)
                    )),
                }
            }
        };
        if let Some(problem) = problem {
            judged.findings.push(Finding::at(
                seq,
                problem,
                "a result with supportedVersions (the versions it speaks) and capabilities",
            ));
        }
    }
    judged
}

fn unsupported_version_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Answered {
        request,
        seq,
        answer,
        ..
    } in answers(a)
    {
        let Some(asked) = request
            .pointer("/params/_meta")
            .and_then(|m| m.get(VERSION_FIELD))
            .and_then(Value::as_str)
            .filter(|v| !KNOWN_VERSIONS.contains(v))
        else {
            continue;
        };
        judged.examined += 1;
        let error = answer.get("error");
        let code = error.and_then(|e| e.get("code")).and_then(Value::as_i64);
        let supported = error
            .and_then(|e| e.pointer("/data/supported"))
            .and_then(Value::as_array)
            .filter(|s| !s.is_empty() && s.iter().all(Value::is_string));
        if code == Some(-32022) && supported.is_some() {
            continue;
        }
        judged.findings.push(Finding::at(
            seq,
            format!(
                "a request in version `{asked}` (which does not exist) answered with {}",
                short(error.unwrap_or(answer))
            ),
            "error -32022 (UnsupportedProtocolVersionError) with data.supported listing the versions the server speaks",
        ));
    }
    judged
}

fn missing_meta_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Answered {
        exchange,
        request,
        seq,
        answer,
    } in answers(a)
    {
        let meta = request.pointer("/params/_meta");
        let missing: Vec<&str> = [VERSION_FIELD, CAPABILITIES_FIELD]
            .into_iter()
            .filter(|f| meta.and_then(|m| m.get(*f)).is_none())
            .collect();
        if missing.is_empty() {
            continue;
        }
        judged.examined += 1;
        let code = error_code(answer);
        let status = exchange.status();
        if code == Some(-32602) && status == Some(400) {
            continue;
        }
        let status = status.map_or("no status".to_owned(), |s| format!("HTTP {s}"));
        let got = match answer.get("error") {
            Some(error) => format!("error {}", short(error)),
            None => "a result".to_owned(),
        };
        judged.findings.push(Finding::at(
            seq,
            format!(
                "a request without {} in its _meta answered with {got} ({status})",
                missing.join(" and ")
            ),
            "error -32602 with HTTP 400",
        ));
    }
    judged
}
