//! Helpers the rooms share: message kinds, delivered order, id scopes, resumes, server questions.

use std::collections::BTreeSet;

use mcp_harness_wire::Delivery;
use serde_json::Value;

use crate::analysis::{Analysis, EventView, Exchange};
use crate::check::Judged;
use crate::verdict::Finding;

pub(crate) fn method_of(message: &Value) -> Option<&str> {
    message.get("method").and_then(Value::as_str)
}

pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 160 {
        format!("{}...", &text[..text.floor_char_boundary(157)])
    } else {
        text
    }
}

pub(crate) fn progress_of(message: &Value) -> Option<(String, f64)> {
    if method_of(message) != Some("notifications/progress") {
        return None;
    }
    let params = message.get("params")?;
    Some((
        params.get("progressToken")?.to_string(),
        params.get("progress")?.as_f64()?,
    ))
}

/// Delivered messages of the run in record order, each event id once.
pub(crate) fn delivered_in_order(a: &Analysis) -> Vec<(u64, &Exchange, &Value)> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<(u64, &Exchange, &Value)> = Vec::new();
    for x in &a.exchanges {
        if x.response_delivery == Delivery::Delivered
            && let (Some(body), Some(r)) = (&x.response_body, &x.response)
        {
            out.push((r.0, x, body));
        }
        for e in &x.events {
            if e.delivery != Delivery::Delivered {
                continue;
            }
            if let Some(id) = &e.id
                && !seen.insert(event_identity(x, e, id))
            {
                continue;
            }
            if let Some(m) = &e.message {
                out.push((e.seq, x, m));
            }
        }
    }
    out.sort_by_key(|(seq, _, _)| *seq);
    out
}

/// Whether the progress token `t` (as sent in a request) is `token`, which is
/// JSON text: a string token keeps its quotes, so `"7"` and `7` differ.
pub(crate) fn is_token_text(t: &Value, token: &str) -> bool {
    serde_json::to_string(t).is_ok_and(|text| text == token)
}

/// Whether `m` is a JSON-RPC 2.0 request, notification or response.
pub(crate) fn is_message(m: &Value) -> bool {
    m.get("jsonrpc") == Some(&Value::String("2.0".into()))
        && (m.get("method").is_some_and(Value::is_string)
            || (m.get("id").is_some() && (m.get("result").is_some() ^ m.get("error").is_some())))
}

/// Whether `message` is a JSON-RPC response (an id and a result or error, no method).
pub fn is_response(message: &Value) -> bool {
    message.get("method").is_none()
        && message.get("id").is_some()
        && (message.get("result").is_some() || message.get("error").is_some())
}

/// An event's identity for "delivered twice": its session, id and content (the
/// same id on different content is a reused id, judged by stream.event_id_unique).
pub(crate) fn event_identity(x: &Exchange, e: &EventView, id: &str) -> (String, String, String) {
    let content = e
        .message
        .as_ref()
        .map(Value::to_string)
        .or_else(|| e.not_json.clone())
        .unwrap_or_default();
    (
        x.session().unwrap_or_default().to_owned(),
        id.to_owned(),
        content,
    )
}

/// Where JSON-RPC ids are unique: a session (legacy), or one POST and its
/// stream (2026-07-28 has no sessions, so two clients may use the same ids).
pub(crate) fn id_scope(a: &Analysis, x: &Exchange) -> String {
    match x.session() {
        Some(session) if !a.is_modern() => session.to_owned(),
        // No session to tell clients apart: a request's stream and its resumes.
        _ => format!("exchange {}", a.stream_root(x).id),
    }
}

/// The delivered events of `x` that carry a message and an event id, with the id.
pub(crate) fn replayed_messages(x: &Exchange) -> impl Iterator<Item = (&EventView, &String)> {
    x.events
        .iter()
        .filter(|e| e.delivery == Delivery::Delivered && e.message.is_some())
        .filter_map(|e| e.id.as_ref().map(|id| (e, id)))
}

pub(crate) fn delivered_ids(a: &Analysis) -> BTreeSet<(String, String)> {
    a.exchanges
        .iter()
        .flat_map(|x| {
            x.events
                .iter()
                .filter(|e| e.delivery == Delivery::Delivered)
                .filter_map(move |e| e.message.as_ref().map(|m| (x, m)))
        })
        .filter_map(|(x, m)| {
            m.get("id").map(|id| {
                (
                    x.session().unwrap_or_default().to_owned(),
                    format!("{}{}", if is_response(m) { "r" } else { "q" }, id),
                )
            })
        })
        .collect()
}

/// The resumes (GET with `Last-Event-ID`) by `x`'s own session that continue
/// `x`'s stream.
pub(crate) fn resumes_of<'a>(
    a: &'a Analysis,
    x: &'a Exchange,
) -> impl Iterator<Item = &'a Exchange> {
    a.exchanges.iter().filter(move |r| {
        r.is_resume()
            && r.id != x.id
            && r.headers.mcp_session_id == x.headers.mcp_session_id
            && a.stream_root(r).id == x.id
    })
}

/// Server questions of a kind (`elicitation/create`, `sampling/createMessage`),
/// sent as requests or inside `inputRequests`, with the exchange they rode on.
pub(crate) fn questions<'a>(a: &'a Analysis, method: &'a str) -> Vec<(u64, &'a Exchange, Value)> {
    let mut out = Vec::new();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if method_of(message) == Some(method) && message.get("id").is_some() {
                out.push((seq, x, message.get("params").cloned().unwrap_or_default()));
            }
            if let Some(requests) = message
                .pointer("/result/inputRequests")
                .and_then(Value::as_object)
            {
                for request in requests.values().filter(|r| method_of(r) == Some(method)) {
                    out.push((seq, x, request.get("params").cloned().unwrap_or_default()));
                }
            }
        }
    }
    out
}

pub(crate) fn declared(a: &Analysis, x: &Exchange, capability: &str) -> bool {
    let from_request = x
        .body
        .as_ref()
        .and_then(|b| b.pointer("/params/_meta/io.modelcontextprotocol~1clientCapabilities"))
        .and_then(|c| c.get(capability));
    from_request.is_some()
        || a.client_caps_for(x)
            .and_then(|c| c.get(capability))
            .is_some()
}

pub(crate) fn only_if_declared(a: &Analysis, method: &str, capability: &str) -> Judged {
    let mut judged = Judged::default();
    for (seq, x, _) in questions(a, method) {
        judged.examined += 1;
        if !declared(a, x, capability) {
            judged.findings.push(Finding::at(
                seq,
                format!("{method} sent to a client that did not declare `{capability}`"),
                format!("only clients that declared `{capability}`"),
            ));
        }
    }
    judged
}

/// The JSON-RPC error code of a response, if it is an error.
pub(crate) fn error_code(message: &Value) -> Option<i64> {
    message.pointer("/error/code").and_then(Value::as_i64)
}

/// A request of the client and the server's answer to it.
#[derive(Clone, Copy)]
pub(crate) struct Answered<'a> {
    /// The exchange that carried the request.
    pub exchange: &'a Exchange,
    /// The request.
    pub request: &'a Value,
    /// The record of the answer.
    pub seq: u64,
    /// The answer (a response: `result` or `error`).
    pub answer: &'a Value,
}

impl<'a> Answered<'a> {
    /// The answer's result, if it is one.
    pub fn result(&self) -> Option<&'a Value> {
        self.answer.get("result")
    }
}

/// Every request of the client that was answered, with its answer, in order.
pub(crate) fn answers(a: &Analysis) -> impl Iterator<Item = Answered<'_>> {
    a.exchanges.iter().filter_map(|x| {
        let request = x.body.as_ref().filter(|b| b.get("method").is_some())?;
        let (seq, answer, _) = x
            .server_messages()
            .find(|(_, m, _)| is_response(m) && m.get("id") == request.get("id"))?;
        Some(Answered {
            exchange: x,
            request,
            seq,
            answer,
        })
    })
}

/// Every request for `method` that was answered, with its answer, in order.
pub(crate) fn answered<'a>(a: &'a Analysis, method: &str) -> Vec<Answered<'a>> {
    answers(a)
        .filter(|x| method_of(x.request) == Some(method))
        .collect()
}
