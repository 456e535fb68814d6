//! The client-side catalog: rules an MCP *client* must keep, judged on the
//! transcript the proxy recorded between the client under test and a scripted
//! server. Same shape as the server catalog: pure functions, stable ids, a spec
//! citation and a level each.

use std::collections::BTreeMap;

use mcp_harness_wire::{Delivery, EndReason};
use serde_json::Value;

use super::support::{is_message, is_response};
use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The client checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "client.jsonrpc_well_formed",
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
        id: "client.headers_after_init",
        rules: &[Rule {
            versions: Versions::from("2025-06-18"),
            level: Level::Must,
            section: "basic/transports#protocol-version-header",
            quote: "the client MUST include the MCP-Protocol-Version header on all subsequent requests to the MCP server; ... the client MUST include [the Mcp-Session-Id] in all of its subsequent HTTP requests.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: headers_after_init,
    },
    Check {
        id: "client.reinitializes_after_404",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#session-management",
            quote: "When a client receives HTTP 404 in response to a request containing an Mcp-Session-Id, it MUST start a new session by sending a new InitializeRequest without a session ID attached.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: reinitializes_after_404,
    },
    Check {
        id: "client.reissues_broken_request",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "basic/transports/streamable-http",
            quote: "Streams are not resumable in 2026-07-28: a request whose stream broke before its response is lost, and the client MUST re-issue it with a new request id.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: reissues_broken_request,
    },
    Check {
        id: "client.resumes_with_last_event_id",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#resumability-and-redelivery",
            quote: "If the client wishes to resume after a disconnection, it SHOULD issue an HTTP GET to the MCP endpoint, and include the Last-Event-ID header to indicate the last event ID it received.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: resumes_with_last_event_id,
    },
    Check {
        id: "client.waits_retry",
        rules: &[Rule {
            versions: Versions::between("2025-11-25", "2026-07-28"),
            level: Level::Must,
            section: "basic/transports#resumability-and-redelivery",
            quote: "The client MUST respect the retry field, waiting the given number of milliseconds before attempting to reconnect.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: waits_retry,
    },
    Check {
        id: "client.answers_once",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic#responses",
            quote: "Responses MUST include the same ID as the request they correspond to; every request gets exactly one response, also when its stream was resumed.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: answers_once,
    },
    Check {
        id: "client.no_cancel_on_disconnect",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#sending-messages-to-the-server",
            quote: "Disconnection SHOULD NOT be interpreted as the client cancelling its request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: no_cancel_on_disconnect,
    },
    Check {
        id: "client.elicitation_answer_valid",
        rules: &[Rule {
            versions: Versions::from("2025-06-18"),
            level: Level::Must,
            section: "client/elicitation#response-actions",
            quote: "action is accept, decline or cancel; content only with accept, and it matches the requested schema.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: elicitation_answer_valid,
    },
    Check {
        id: "client.sampling_result_well_formed",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "client/sampling#creating-messages",
            quote: "The result of sampling/createMessage has a role, content and the model used.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: sampling_result_well_formed,
    },
    Check {
        id: "client.delete_when_done",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#session-management",
            quote: "Clients that no longer need a particular session ... SHOULD send an HTTP DELETE to the MCP endpoint with the Mcp-Session-Id header, to explicitly terminate the session.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: delete_when_done,
    },
];

fn jsonrpc_well_formed(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a
        .exchanges
        .iter()
        .filter(|x| x.method == "POST" && !x.body_truncated)
    {
        judged.examined += 1;
        let ok = match &x.body {
            Some(Value::Array(items)) => !items.is_empty() && items.iter().all(is_message),
            Some(one) => is_message(one),
            None => false,
        };
        if !ok {
            let shown = x
                .body
                .as_ref()
                .map(|b| b.to_string().chars().take(80).collect::<String>())
                .unwrap_or_else(|| "a body that is not JSON".into());
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("POST of {shown}"),
                "a JSON-RPC 2.0 message",
            ));
        }
    }
    judged
}

/// The session an initialize exchange issued, if it did.
fn issued(x: &Exchange) -> Option<&str> {
    (x.rpc_method() == Some("initialize"))
        .then(|| x.response.as_ref()?.2.mcp_session_id.as_deref())
        .flatten()
}

fn headers_after_init(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let mut session: Option<String> = None;
    let issued_ids: std::collections::BTreeSet<&str> =
        a.exchanges.iter().filter_map(issued).collect();
    // 2026-07-28 has no initialize: every request carries the version.
    let mut initialized = a.is_modern();
    for x in &a.exchanges {
        if x.rpc_method() == Some("initialize") {
            session = issued(x).map(str::to_owned);
            initialized = x.status() == Some(200);
            continue;
        }
        if !initialized {
            continue;
        }
        judged.examined += 1;
        let what = x.rpc_method().unwrap_or(x.method.as_str()).to_owned();
        match x.headers.mcp_protocol_version.as_deref() {
            None => judged.findings.push(Finding::at(
                x.request_seq,
                format!("{what} without MCP-Protocol-Version"),
                format!("MCP-Protocol-Version: {}", a.version),
            )),
            Some(v) if v != a.version => judged.findings.push(Finding::at(
                x.request_seq,
                format!("{what} with MCP-Protocol-Version {v}"),
                format!("the negotiated {}", a.version),
            )),
            Some(_) => {}
        }
        // Any session the client was issued will do (a DELETE of an old one, a
        // client with two sessions); a missing or made-up one will not.
        let known = x
            .headers
            .mcp_session_id
            .as_deref()
            .is_some_and(|id| issued_ids.contains(id));
        if let Some(session) = &session
            && !known
        {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("{what} with Mcp-Session-Id {:?}", x.headers.mcp_session_id),
                format!("Mcp-Session-Id {session}"),
            ));
        }
    }
    judged
}

fn reinitializes_after_404(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (i, x) in a.exchanges.iter().enumerate() {
        let (Some(dead), Some(404)) = (x.headers.mcp_session_id.as_deref(), x.status()) else {
            continue;
        };
        if x.method == "DELETE" {
            continue; // the client was ending the session anyway
        }
        judged.examined += 1;
        let later = &a.exchanges[i + 1..];
        // Ending the dead session with DELETE is harmless; using it is not.
        let reuse = later
            .iter()
            .find(|l| l.method != "DELETE" && l.headers.mcp_session_id.as_deref() == Some(dead));
        let reinitialized = later
            .iter()
            .any(|l| l.rpc_method() == Some("initialize") && l.headers.mcp_session_id.is_none());
        if let Some(reuse) = reuse {
            judged.findings.push(Finding::at(
                reuse.request_seq,
                format!("the session {dead} was used again after its 404"),
                "a new session, started with initialize",
            ));
        } else if !reinitialized {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("after the 404 for session {dead}, no new session was started"),
                "initialize without Mcp-Session-Id",
            ));
        }
    }
    judged
}

/// Request streams cut before their response reached the client, with the
/// last event id the client got on them.
fn cut_streams(a: &Analysis) -> Vec<(&Exchange, String)> {
    broken_before_response(a)
        .filter_map(|x| {
            let last = x
                .events
                .iter()
                .filter(|e| e.delivery == Delivery::Delivered)
                .filter_map(|e| e.id.clone())
                .next_back()?;
            Some((x, last))
        })
        .collect()
}

/// The first resume after `x` whose Last-Event-ID names an event of `x`'s stream.
fn first_resume_of<'a>(a: &'a Analysis, x: &Exchange) -> Option<&'a Exchange> {
    a.exchanges.iter().find(|r| {
        r.is_resume()
            && r.request_seq > x.request_seq
            && r.headers
                .last_event_id
                .as_deref()
                .and_then(|id| a.origin_of(r.session(), id))
                .is_some_and(|o| a.stream_root(o).id == x.id)
    })
}

/// POSTed requests whose stream broke before their response reached the client.
fn broken_before_response(a: &Analysis) -> impl Iterator<Item = &Exchange> {
    a.exchanges
        .iter()
        .filter(|x| x.method == "POST" && x.rpc_id().is_some())
        .filter(|x| {
            matches!(
                x.end,
                Some(
                    EndReason::Cut
                        | EndReason::Closed
                        | EndReason::ClientGone
                        | EndReason::UpstreamError
                )
            )
        })
        .filter(|x| {
            !x.server_messages().any(|(_, m, delivery)| {
                delivery == Delivery::Delivered && is_response(m) && m.get("id") == x.rpc_id()
            })
        })
}

/// The request `x` carries, for telling a re-issue: its method and params
/// without `_meta`.
fn request_identity(x: &Exchange) -> Option<(&str, Value)> {
    let body = x.body.as_ref()?;
    let mut params = body.get("params").cloned().unwrap_or(Value::Null);
    if let Some(params) = params.as_object_mut() {
        params.remove("_meta");
    }
    Some((x.rpc_method()?, params))
}

fn reissues_broken_request(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in broken_before_response(a) {
        let Some(identity) = request_identity(x) else {
            continue;
        };
        judged.examined += 1;
        let again = a
            .exchanges
            .iter()
            .filter(|r| r.method == "POST" && r.request_seq > x.request_seq)
            .find(|r| request_identity(r).as_ref() == Some(&identity));
        let id = x.rpc_id().cloned().unwrap_or_default();
        match again {
            None => judged.findings.push(Finding::at(
                x.request_seq,
                format!(
                    "the stream of request {id} (`{}`) broke before its response and the request was never sent again",
                    identity.0
                ),
                "the same request re-issued with a new id",
            )),
            Some(r) if r.rpc_id() == Some(&id) => judged.findings.push(Finding::at(
                r.request_seq,
                format!("request {id} was re-issued with the same id"),
                "a new request id",
            )),
            Some(_) => {}
        }
    }
    judged
}

fn resumes_with_last_event_id(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (x, last) in cut_streams(a) {
        judged.examined += 1;
        let resumed_with = a
            .exchanges
            .iter()
            .filter(|r| r.is_resume() && r.request_seq > x.request_seq)
            .find_map(|r| {
                let id = r.headers.last_event_id.as_deref()?;
                a.origin_of(r.session(), id)
                    .is_some_and(|o| a.stream_root(o).id == x.id)
                    .then(|| (r, id.to_owned()))
            });
        match resumed_with {
            None => judged.findings.push(Finding::at(
                x.request_seq,
                format!(
                    "the stream of request {} was cut and never resumed",
                    x.rpc_id().cloned().unwrap_or_default()
                ),
                format!("GET with Last-Event-ID: {last}"),
            )),
            Some((r, id)) if id != last => judged.findings.push(Finding::at(
                r.request_seq,
                format!("resumed with Last-Event-ID {id}"),
                format!("the last event it received, {last}"),
            )),
            Some(_) => {}
        }
    }
    judged
}

fn waits_retry(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.method == "POST") {
        let Some(retry) = x
            .events
            .iter()
            .filter(|e| e.delivery == Delivery::Delivered)
            .filter_map(|e| e.retry_ms)
            .next_back()
        else {
            continue;
        };
        let (Some(ended), Some(resume)) = (x.cut_at_us.or(x.end_at_us), first_resume_of(a, x))
        else {
            continue;
        };
        judged.examined += 1;
        let waited_ms = resume.request_at_us.saturating_sub(ended) / 1000;
        // A few milliseconds of slack for the recording itself.
        if waited_ms + 5 < retry {
            judged.findings.push(Finding::at(
                resume.request_seq,
                format!("reconnected {waited_ms} ms after the stream ended"),
                format!("at least retry: {retry} ms"),
            ));
        }
    }
    judged
}

/// Server-to-client requests delivered to the client, per (session, id).
fn questions_delivered(a: &Analysis) -> BTreeMap<(String, String), (u64, Value)> {
    let mut out = BTreeMap::new();
    for x in &a.exchanges {
        for e in x
            .events
            .iter()
            .filter(|e| e.delivery == Delivery::Delivered)
        {
            if let Some(m) = &e.message
                && m.get("method").is_some()
                && let Some(id) = m.get("id")
            {
                let session = x.session().unwrap_or_default().to_owned();
                out.entry((session, id.to_string()))
                    .or_insert((e.seq, m.clone()));
            }
        }
    }
    out
}

/// The client's answers (POSTed responses), per (session, id), in order.
fn answers(a: &Analysis) -> BTreeMap<(String, String), Vec<(u64, Value)>> {
    let mut out: BTreeMap<(String, String), Vec<(u64, Value)>> = BTreeMap::new();
    for x in a.exchanges.iter().filter(|x| x.method == "POST") {
        for m in x.body_messages().into_iter().filter(|m| is_response(m)) {
            let session = x.headers.mcp_session_id.clone().unwrap_or_default();
            out.entry((session, m["id"].to_string()))
                .or_default()
                .push((x.request_seq, m.clone()));
        }
    }
    out
}

fn answers_once(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let given = answers(a);
    for (key, (seq, question)) in questions_delivered(a) {
        judged.examined += 1;
        let method = question["method"].as_str().unwrap_or("request");
        match given.get(&key).map(Vec::len).unwrap_or(0) {
            1 => {}
            0 => judged.findings.push(Finding::at(
                seq,
                format!("{method} {} was never answered", key.1),
                "exactly one response",
            )),
            n => judged.findings.push(Finding::at(
                given[&key][1].0,
                format!("{method} {} was answered {n} times", key.1),
                "exactly one response",
            )),
        }
    }
    judged
}

fn no_cancel_on_disconnect(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (x, _) in cut_streams(a) {
        judged.examined += 1;
        let id = x.rpc_id().cloned().unwrap_or_default();
        if let Some(cancel) = a.exchanges.iter().find(|c| {
            c.request_seq > x.request_seq
                && c.rpc_method() == Some("notifications/cancelled")
                && c.body.as_ref().and_then(|b| b.pointer("/params/requestId")) == Some(&id)
        }) {
            judged.findings.push(Finding::at(
                cancel.request_seq,
                format!("request {id} was cancelled after its stream was cut"),
                "a resume (or patience), not a cancellation",
            ));
        }
    }
    judged
}

/// Whether `value` fits the primitive property schema `schema`.
fn fits(value: &Value, schema: &Value) -> bool {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return options.contains(value);
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        return options
            .iter()
            .any(|o| o.get("const").is_none_or(|c| c == value));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.as_i64().is_some() || value.as_u64().is_some(),
        Some("number") => value.is_number(),
        _ => true,
    }
}

/// What is wrong with `answer` to an elicitation with `schema`, if anything.
fn elicitation_problem(answer: &Value, schema: &Value) -> Option<String> {
    let action = answer.get("action").and_then(Value::as_str);
    let content = answer.get("content");
    match action {
        Some("decline" | "cancel") => content
            .filter(|c| !c.is_null())
            .map(|_| format!("{} with content", action.unwrap_or_default())),
        Some("accept") => {
            let Some(content) = content.and_then(Value::as_object) else {
                return Some("accept without a content object".into());
            };
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !content.contains_key(required) {
                    return Some(format!("accept without the required `{required}`"));
                }
            }
            for (name, value) in content {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) if !fits(value, property) => {
                        return Some(format!("`{name}` = {value} does not fit {property}"));
                    }
                    _ => {}
                }
            }
            None
        }
        other => Some(format!("action {other:?}")),
    }
}

fn elicitation_answer_valid(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let given = answers(a);
    // Legacy: answers to elicitation/create requests.
    for (key, (_, question)) in questions_delivered(a) {
        if question["method"] != "elicitation/create" {
            continue;
        }
        let schema = question
            .pointer("/params/requestedSchema")
            .cloned()
            .unwrap_or_default();
        for (seq, answer) in given.get(&key).into_iter().flatten() {
            let Some(result) = answer.get("result") else {
                continue;
            };
            judged.examined += 1;
            if let Some(problem) = elicitation_problem(result, &schema) {
                judged
                    .findings
                    .push(Finding::at(*seq, problem, "a valid elicitation result"));
            }
        }
    }
    // 2026-07-28: inputResponses answering inputRequests.
    let mut asked: BTreeMap<String, Value> = BTreeMap::new();
    for x in &a.exchanges {
        for (_, message, delivery) in x.server_messages() {
            if delivery != Delivery::Delivered {
                continue;
            }
            for (key, request) in message
                .pointer("/result/inputRequests")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if request["method"] == "elicitation/create" {
                    asked.insert(
                        key.clone(),
                        request
                            .pointer("/params/requestedSchema")
                            .cloned()
                            .unwrap_or_default(),
                    );
                }
            }
        }
        let responses = x.body.as_ref().and_then(|b| {
            b.pointer("/params/inputResponses")
                .and_then(Value::as_object)
        });
        for (key, answer) in responses.into_iter().flatten() {
            if let Some(schema) = asked.get(key) {
                judged.examined += 1;
                if let Some(problem) = elicitation_problem(answer, schema) {
                    judged.findings.push(Finding::at(
                        x.request_seq,
                        problem,
                        "a valid elicitation result",
                    ));
                }
            }
        }
    }
    judged
}

fn sampling_result_well_formed(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let given = answers(a);
    for (key, (_, question)) in questions_delivered(a) {
        if question["method"] != "sampling/createMessage" {
            continue;
        }
        for (seq, answer) in given.get(&key).into_iter().flatten() {
            let Some(result) = answer.get("result") else {
                continue;
            };
            judged.examined += 1;
            let ok = result.get("role").is_some_and(Value::is_string)
                && result
                    .get("content")
                    .is_some_and(|c| c.is_object() || c.is_array())
                && result.get("model").is_some_and(Value::is_string);
            if !ok {
                let shown: String = result.to_string().chars().take(120).collect();
                judged.findings.push(Finding::at(
                    *seq,
                    format!("sampling result {shown}"),
                    "role, content and model",
                ));
            }
        }
    }
    judged
}

fn delete_when_done(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some(session) = issued(x) else { continue };
        judged.examined += 1;
        let deleted = a
            .exchanges
            .iter()
            .any(|d| d.method == "DELETE" && d.headers.mcp_session_id.as_deref() == Some(session));
        let expired = a.exchanges.iter().any(|d| {
            d.headers.mcp_session_id.as_deref() == Some(session) && d.status() == Some(404)
        });
        if !deleted && !expired {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("session {session} was left open"),
                "DELETE when done",
            ));
        }
    }
    judged
}
