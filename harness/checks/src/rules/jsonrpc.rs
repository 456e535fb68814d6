//! JSON-RPC: every message well formed, every request answered exactly once,
//! (2026-07-28) every result says its `resultType`, and the error answers
//! JSON-RPC 2.0 defines: -32601 for a method that does not exist, a null id
//! when the request's id could not be read.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::{BTreeMap, BTreeSet};

use mcp_harness_wire::{Delivery, EndReason};
use serde_json::Value;

use super::support::{delivered_in_order, id_scope, is_message, is_response, short};
use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::schema::official_schema;
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "jsonrpc.well_formed",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic#messages",
            quote: "All messages between MCP clients and servers MUST follow the JSON-RPC 2.0 specification.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: jsonrpc_well_formed,
    },
    Check {
        id: "response.exactly_once",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic#responses",
            quote: "The Server MUST reply with a Response (JSON-RPC 2.0, section 4): every request gets exactly one, unless a fault, a kill or the client's own silence stood in its way.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: response_exactly_once,
    },
    Check {
        id: "result.result_type",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "basic#responses",
            quote: "resultType: indicates the type of the result, which allows the client to determine how to parse the result object. Servers implementing this protocol version MUST include this field.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: result_type_present,
    },
    Check {
        id: "jsonrpc.method_not_found",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Should,
            section: "basic#messages",
            quote: "All messages between MCP clients and servers MUST follow the JSON-RPC 2.0 specification, whose error -32601 \"Method not found\" is for \"the method does not exist / is not available\" (judged: the error answer to the harness's request for a method no version or extension defines).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: method_not_found,
    },
    Check {
        id: "jsonrpc.error_id_null",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic#messages",
            quote: "All messages between MCP clients and servers MUST follow the JSON-RPC 2.0 specification, which says of an error response's id: \"If there was an error in detecting the id in the Request object (e.g. Parse error/Invalid Request), it MUST be Null.\"",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: error_id_null,
    },
];

/// The method the harness asks for to see an unknown method refused (the
/// scenario `jsonrpc/unknown_method`): no version or extension defines it.
pub const UNKNOWN_METHOD: &str = "mcp-harness/no_such_method";

/// An error answer to a request for a method nothing defines must say
/// -32601. Judged on the harness's own probes (methods under `mcp-harness/`
/// that the version's schema does not define): a method of an extension the
/// server implements (2026-07-28 `tasks/get`, not in the core schema) may
/// rightly be refused with another code. Only answers at the JSON-RPC level
/// are judged (status 200, or stdio): a refusal at the HTTP level (no
/// session, a bad header) is other checks' affair.
fn method_not_found(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let Some(schema) = official_schema(&a.version) else {
        return judged;
    };
    for x in &a.exchanges {
        if !a.is_stdio() && x.status() != Some(200) {
            continue;
        }
        for request in x.body_messages() {
            let (Some(method), Some(id)) = (
                request.get("method").and_then(Value::as_str),
                request.get("id"),
            ) else {
                continue;
            };
            if !method.starts_with("mcp-harness/") || schema.request_definition(method).is_some() {
                continue;
            }
            let answer = x
                .server_messages()
                .find(|(_, m, _)| m.get("id") == Some(id) && m.get("error").is_some());
            let Some((seq, answer, _)) = answer else {
                continue;
            };
            judged.examined += 1;
            let code = answer.pointer("/error/code");
            if code.and_then(Value::as_i64) != Some(-32601) {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "request {id} for `{method}`, a method {} does not define, was answered with error code {}",
                        a.version,
                        code.map_or("(none)".to_owned(), Value::to_string)
                    ),
                    "-32601 (Method not found)",
                ));
            }
        }
    }
    judged
}

/// A POST whose id the server could not read (a body that is not JSON, or a
/// JSON object without a string or number `id`) answered with a JSON-RPC
/// error must carry `"id": null` (an absent id is the schema's affair), never
/// an id the server made up.
fn error_id_null(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.method == "POST") {
        if x.body_truncated || x.body.as_ref().is_some_and(Value::is_array) {
            continue;
        }
        let readable_id = x
            .body
            .as_ref()
            .and_then(|b| b.get("id"))
            .is_some_and(|id| id.is_string() || id.is_number());
        if readable_id {
            continue;
        }
        for (seq, answer, _) in x.server_messages() {
            if answer.get("error").is_none() {
                continue;
            }
            judged.examined += 1;
            match answer.get("id") {
                None | Some(Value::Null) => {}
                Some(id) => judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "an error answer to a request whose id could not be read ({}) carries id {id}",
                        if x.body.is_none() {
                            "a body that is not JSON"
                        } else {
                            "no string or number id"
                        }
                    ),
                    "\"id\": null",
                )),
            }
        }
    }
    judged
}

fn jsonrpc_well_formed(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for e in &x.events {
            if let Some(text) = &e.not_json {
                judged.examined += 1;
                let shown: String = text.chars().take(80).collect();
                judged.findings.push(Finding::at(
                    e.seq,
                    format!("event data that is not JSON: {shown:?}"),
                    "one JSON-RPC message per event",
                ));
            }
        }
        for (seq, message, _) in x.server_messages() {
            judged.examined += 1;
            if !is_message(message) {
                judged.findings.push(Finding::at(
                    seq,
                    format!("server message {}", short(message)),
                    "a JSON-RPC 2.0 request, notification or response",
                ));
            }
        }
    }
    judged
}

/// Ids of the requests the server sent to the client (elicitation, sampling)
/// on `x`'s logical stream that the client never answered: the server may be
/// waiting on the client, not the other way round.
fn client_left_unanswered(a: &Analysis, x: &Exchange) -> bool {
    let session = x.session().unwrap_or_default();
    let answered: BTreeSet<String> = a
        .exchanges
        .iter()
        .filter(|c| c.method == "POST" && c.session().unwrap_or_default() == session)
        .filter_map(|c| c.body.as_ref())
        .filter(|b| is_response(b))
        .map(|b| b["id"].to_string())
        .collect();
    a.exchanges
        .iter()
        .filter(|s| a.stream_root(s).id == x.id)
        .flat_map(|s| s.server_messages())
        .any(|(_, m, _)| {
            m.get("method").is_some()
                && m.get("id").is_some()
                && !answered.contains(&m["id"].to_string())
        })
}

fn response_exactly_once(a: &Analysis) -> Judged {
    let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (_, x, m) in delivered_in_order(a) {
        if is_response(m) && x.method == "POST" || is_response(m) && x.method == "GET" {
            *count
                .entry((id_scope(a, x), m["id"].to_string()))
                .or_default() += 1;
        }
    }
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.method == "POST") {
        let Some(id) = x.rpc_id() else { continue };
        if x.rpc_method() == Some("subscriptions/listen") && x.end != Some(EndReason::Complete) {
            // Answered only when the server tears the subscription down; a
            // stream the client closed carries no response (2026-07-28 schema,
            // SubscriptionsListenResult).
            continue;
        }
        if x.status().is_some_and(|s| s != 200) {
            continue; // refused at the HTTP level: judged by other checks
        }
        let key = (id_scope(a, x), id.to_string());
        let n = count.get(&key).copied().unwrap_or(0);
        if n == 0 {
            // Lost to a fault (a lost response after a resume is judged by
            // stream.response_after_resume), a kill (the run is interrupted),
            // a client that never answered the server's question, or still
            // open when the recording ended: nothing to judge.
            let faulted = a.fault_in_the_way(x)
                || matches!(x.end, Some(EndReason::Cut | EndReason::Closed))
                || x.response_delivery == Delivery::Withheld;
            let unfinished = x.end.is_none() && x.response_body.is_none();
            if faulted || unfinished || client_left_unanswered(a, x) {
                continue;
            }
        }
        if x.response.is_none() {
            continue;
        }
        judged.examined += 1;
        if n == 0 {
            let how = match x.end {
                Some(EndReason::ClientGone) => {
                    "the client gave up waiting (no fault in its way)".to_owned()
                }
                Some(reason) => format!("its stream ended ({reason:?}) without it"),
                None => "no response body".to_owned(),
            };
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("request {id} was never answered: {how}"),
                "exactly one response",
            ));
        } else if n != 1 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("request {id} got {n} responses"),
                "exactly one response",
            ));
        }
    }
    judged
}

fn result_type_present(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            let Some(result) = message.get("result").filter(|_| is_response(message)) else {
                continue;
            };
            judged.examined += 1;
            match result.get("resultType") {
                Some(Value::String(_)) => {}
                other => judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "the result of response {} has {}",
                        message["id"],
                        match other {
                            None => "no resultType".to_owned(),
                            Some(v) => format!("resultType {v}"),
                        }
                    ),
                    "resultType (\"complete\", \"input_required\", ...) on every result",
                )),
            }
        }
    }
    judged
}
