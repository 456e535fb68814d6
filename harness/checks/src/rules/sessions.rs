//! Sessions and the protocol version header: ids, missing and unknown sessions, bad versions.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::{Analysis, KNOWN_VERSIONS};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "session.id_visible_ascii",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#session-management",
            quote: "The session ID MUST only contain visible ASCII characters (ranging from 0x21 to 0x7E).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: session_id_ascii,
    },
    Check {
        id: "session.missing_id_400",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#session-management",
            quote: "Servers that require a session ID SHOULD respond to requests without an Mcp-Session-Id header (other than initialization) with HTTP 400 Bad Request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: session_missing_400,
    },
    Check {
        id: "session.unknown_id_404",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#session-management",
            quote: "The server MAY terminate the session at any time, after which it MUST respond to requests containing that session ID with HTTP 404 Not Found.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: session_unknown_404,
    },
    Check {
        id: "version.invalid_header_400",
        rules: &[Rule {
            versions: Versions::from("2025-06-18"),
            level: Level::Must,
            section: "basic/transports#protocol-version-header",
            quote: "If the server receives a request with an invalid or unsupported MCP-Protocol-Version, it MUST respond with 400 Bad Request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: version_header_400,
    },
];

fn session_id_ascii(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some((seq, _, headers)) = &x.response else {
            continue;
        };
        let Some(id) = &headers.mcp_session_id else {
            continue;
        };
        judged.examined += 1;
        if id.is_empty() || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            judged.findings.push(Finding::at(
                *seq,
                format!("session id {id:?}"),
                "visible ASCII only (0x21 to 0x7E)",
            ));
        }
    }
    judged
}

fn issued_sessions(a: &Analysis) -> BTreeSet<String> {
    a.exchanges
        .iter()
        .filter_map(|x| x.response.as_ref().and_then(|r| r.2.mcp_session_id.clone()))
        .collect()
}

fn session_missing_400(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    if issued_sessions(a).is_empty() {
        return judged;
    }
    for x in a
        .exchanges
        .iter()
        .filter(|x| x.method == "POST" && x.headers.mcp_session_id.is_none())
    {
        if matches!(x.rpc_method(), Some("initialize") | Some("server/discover"))
            || x.body.is_none()
        {
            continue;
        }
        let Some(status) = x.status() else { continue };
        judged.examined += 1;
        if status != 400 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!(
                    "a {} without Mcp-Session-Id got {status}",
                    x.rpc_method().unwrap_or("request")
                ),
                "400 Bad Request",
            ));
        }
    }
    judged
}

fn session_unknown_404(a: &Analysis) -> Judged {
    let issued = issued_sessions(a);
    let mut deleted: BTreeMap<String, u64> = BTreeMap::new();
    for x in a.exchanges.iter().filter(|x| x.method == "DELETE") {
        if let (Some(id), Some(status)) = (&x.headers.mcp_session_id, x.status())
            && (200..300).contains(&status)
        {
            deleted.entry(id.clone()).or_insert(x.request_seq);
        }
    }
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some(id) = &x.headers.mcp_session_id else {
            continue;
        };
        let Some(status) = x.status() else { continue };
        if x.method == "DELETE" && deleted.get(id) == Some(&x.request_seq) {
            continue;
        }
        let unknown = !issued.contains(id);
        let terminated = deleted.get(id).is_some_and(|at| *at < x.request_seq);
        if !(unknown || terminated) {
            continue;
        }
        judged.examined += 1;
        if status != 404 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!(
                    "a request with {} session {id} got {status}",
                    if unknown { "unknown" } else { "terminated" }
                ),
                "404 Not Found",
            ));
        }
    }
    judged
}

fn version_header_400(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some(version) = &x.headers.mcp_protocol_version else {
            continue;
        };
        if KNOWN_VERSIONS.contains(&version.as_str()) {
            continue;
        }
        let Some(status) = x.status() else { continue };
        judged.examined += 1;
        if status != 400 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("MCP-Protocol-Version {version:?} got {status}"),
                "400 Bad Request",
            ));
        }
    }
    judged
}
