//! The 2026-07-28 request metadata headers (SEP-2243): `Mcp-Method` mirrors
//! the body's `method` on every POST, `Mcp-Name` its `params.name` or
//! `params.uri` on `tools/call`, `resources/read` and `prompts/get` (Base64
//! sentinel form decoded). A client sends them; a server refuses a request
//! whose headers are missing or disagree with its body (HTTP 400, -32020).
//! Fixtures: tests/every_check_can_fail.rs and tests/client_checks_can_fail.rs.

use mcp_harness_wire::header_value;
use serde_json::Value;

use super::support::{error_code, is_response, short};
use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

const SECTION: &str = "basic/transports/streamable-http#standard-request-headers";

/// The server's check.
pub(crate) const SERVER_CHECKS: &[Check] = &[Check {
    id: "headers.mismatch_refused",
    rules: &[Rule {
        versions: Versions::MODERN,
        level: Level::Must,
        section: "basic/transports/streamable-http#server-validation",
        quote: "Servers that process the request body MUST reject requests where the values specified in the headers do not match the corresponding values in the request body. When rejecting a request due to header validation failure, servers MUST return HTTP status 400 Bad Request and MUST include a JSON-RPC error response using the following error code: -32020 (HeaderMismatch). Validation failure conditions include: a required standard header (MCP-Protocol-Version, Mcp-Method, Mcp-Name) is missing.",
    }],
    needs: Needs::Nothing,
    transports: Transports::HttpOnly,
    run: mismatch_refused,
}];

/// The client's check.
pub(crate) const CLIENT_CHECKS: &[Check] = &[Check {
    id: "client.request_headers",
    rules: &[Rule {
        versions: Versions::MODERN,
        level: Level::Must,
        section: SECTION,
        quote: "The client MUST include the request metadata headers on each POST request: Mcp-Method (from method) on all requests, Mcp-Name (from params.name or params.uri) on tools/call, resources/read and prompts/get requests. These headers are REQUIRED for compliance.",
    }],
    needs: Needs::Nothing,
    transports: Transports::HttpOnly,
    run: client_sends_headers,
}];

/// What is wrong with the request headers of `x`, if it is a POSTed JSON-RPC
/// request whose headers do not mirror its body.
fn header_problem(x: &Exchange) -> Option<String> {
    if x.method != "POST" {
        return None;
    }
    let body = x.body.as_ref()?;
    let method = body.get("method").and_then(Value::as_str)?;
    body.get("id")?;
    match x.headers.mcp_method.as_deref() {
        None => return Some(format!("a {method} request without Mcp-Method")),
        Some(header) if header != method => {
            return Some(format!("a {method} request with Mcp-Method `{header}`"));
        }
        Some(_) => {}
    }
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return None,
    };
    let wanted = body
        .pointer(&format!("/params/{key}"))
        .and_then(Value::as_str)?;
    match x.headers.mcp_name.as_deref() {
        None => Some(format!(
            "a {method} request for `{wanted}` without Mcp-Name"
        )),
        Some(header) if header_value::decode(header).as_deref() != Some(wanted) => Some(format!(
            "a {method} request for `{wanted}` with Mcp-Name `{header}`"
        )),
        Some(_) => None,
    }
}

/// Whether the request of `x` is right in every way this check does not
/// judge: its `_meta` carries the version and capabilities, its
/// `MCP-Protocol-Version` header says the same version, and the server did
/// not refuse it for its Origin (403). Others judge those refusals.
fn otherwise_valid(x: &Exchange) -> bool {
    let meta = x.body.as_ref().and_then(|b| b.pointer("/params/_meta"));
    let version = meta
        .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
        .and_then(Value::as_str);
    let capabilities = meta.and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities"));
    version.is_some()
        && capabilities.is_some()
        && x.headers.mcp_protocol_version.as_deref() == version
        && x.status() != Some(403)
}

fn mismatch_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some(problem) = header_problem(x).filter(|_| otherwise_valid(x)) else {
            continue;
        };
        judged.examined += 1;
        let answer = x
            .server_messages()
            .find(|(_, m, _)| is_response(m))
            .map(|(_, m, _)| m);
        let code = answer.and_then(error_code);
        if x.status() == Some(400) && code == Some(-32020) {
            continue;
        }
        let status = x
            .status()
            .map_or("no status".to_owned(), |s| format!("HTTP {s}"));
        let got = match answer {
            Some(m) if m.get("error").is_some() => format!("error {}", short(&m["error"])),
            Some(_) => "a result".to_owned(),
            None => "no JSON-RPC answer".to_owned(),
        };
        let seq = x
            .response
            .as_ref()
            .map_or(x.request_seq, |(seq, _, _)| *seq);
        judged.findings.push(Finding::at(
            seq,
            format!("{problem} was answered with {got} ({status})"),
            "HTTP 400 with error -32020 (HeaderMismatch)",
        ));
    }
    judged
}

fn client_sends_headers(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let is_request = x.method == "POST"
            && x.body
                .as_ref()
                .is_some_and(|b| b.get("method").is_some() && b.get("id").is_some());
        if !is_request {
            continue;
        }
        judged.examined += 1;
        if let Some(problem) = header_problem(x) {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("the client sent {problem}"),
                "Mcp-Method equal to the method, and Mcp-Name equal to params.name or params.uri where the method has one",
            ));
        }
    }
    judged
}
