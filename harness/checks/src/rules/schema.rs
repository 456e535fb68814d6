//! Schema: every JSON-RPC message on the wire, both directions, every stream
//! (replays and withheld events included), judged by the official JSON Schema
//! of the negotiated version ([`crate::schema`]), and by its unions of who
//! sends what (`ServerRequest`, `ClientNotification`...): a method only the
//! other side sends is a breach, as a server echoing `initialize` back.
//! Fixtures: `schema_bad_result`
//! and `schema_bad_client_answer` in tests/every_check_can_fail.rs and
//! tests/client_checks_can_fail.rs.

use std::collections::HashMap;

use serde_json::Value;

use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::schema::{SchemaJudgement, official_schema};
use crate::verdict::{Finding, Level};

const SCHEMA_RULE: &[Rule] = &[Rule {
    versions: Versions::ALL,
    level: Level::Must,
    section: "index",
    quote: "This specification defines the authoritative protocol requirements, based on the TypeScript schema in schema.ts (published as schema.json for each version).",
}];

/// The server's messages.
pub(crate) const SERVER_CHECKS: &[Check] = &[Check {
    id: "schema.server_messages",
    rules: SCHEMA_RULE,
    needs: Needs::Nothing,
    transports: Transports::Both,
    run: server_messages_valid,
}];

/// The client's messages.
pub(crate) const CLIENT_CHECKS: &[Check] = &[Check {
    id: "client.schema_messages",
    rules: SCHEMA_RULE,
    needs: Needs::Nothing,
    transports: Transports::Both,
    run: client_messages_valid,
}];

/// Requests by (id scope, JSON-RPC id, sent by the client) -> method.
type RequestIndex = HashMap<(String, String, bool), String>;

fn scope(a: &Analysis, x: &Exchange) -> String {
    if a.is_modern() {
        String::new()
    } else {
        x.session().unwrap_or_default().to_owned()
    }
}

fn request_index(a: &Analysis) -> RequestIndex {
    let mut index = RequestIndex::new();
    for x in &a.exchanges {
        let scope = scope(a, x);
        for m in x.body_messages() {
            if let (Some(method), Some(id)) = (m.get("method").and_then(Value::as_str), m.get("id"))
            {
                index.insert((scope.clone(), id.to_string(), true), method.to_owned());
            }
        }
        for (_, m, _) in x.server_messages() {
            if let (Some(method), Some(id)) = (m.get("method").and_then(Value::as_str), m.get("id"))
            {
                index.insert((scope.clone(), id.to_string(), false), method.to_owned());
            }
        }
    }
    index
}

/// The method of the client's request that a server response on `x` answers:
/// the request of `x`'s own POST (or of the stream it resumes), else the
/// session's request with that id.
fn answered_by_server<'a>(
    a: &'a Analysis,
    x: &'a Exchange,
    id: &Value,
    index: &'a RequestIndex,
) -> Option<&'a str> {
    let own = [x, a.stream_root(x)].into_iter().find_map(|carrier| {
        carrier
            .body_messages()
            .into_iter()
            .find(|m| m.get("id") == Some(id) && m.get("method").is_some())
            .and_then(|m| m.get("method").and_then(Value::as_str))
    });
    own.or_else(|| {
        index
            .get(&(scope(a, x), id.to_string(), true))
            .map(String::as_str)
    })
}

fn findings_of(seq: u64, version: &str, judgement: SchemaJudgement, judged: &mut Judged) {
    judged.examined += 1;
    let definition = judgement.definitions.first().cloned().unwrap_or_default();
    let more = judgement.more;
    for breach in judgement.breaches {
        let mut observed = breach.to_string();
        if more > 0 {
            observed.push_str(&format!(" (and {more} more)"));
        }
        judged.findings.push(Finding::at(
            seq,
            observed,
            format!("a message valid against `{definition}` of the official {version} schema"),
        ));
    }
}

fn server_messages_valid(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let Some(schema) = official_schema(&a.version) else {
        return judged;
    };
    let index = request_index(a);
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            let answers = match message.get("id") {
                Some(id) if message.get("method").is_none() => answered_by_server(a, x, id, &index),
                _ => None,
            };
            let mut judgement = schema.judge(message, answers);
            if judgement.definitions.is_empty() {
                continue; // not JSON-RPC: jsonrpc.well_formed judges it
            }
            judgement.breaches.extend(schema.wrong_side(message, true));
            findings_of(seq, schema.version(), judgement, &mut judged);
        }
    }
    judged
}

fn client_messages_valid(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let Some(schema) = official_schema(&a.version) else {
        return judged;
    };
    let index = request_index(a);
    for x in a.exchanges.iter().filter(|x| !x.body_truncated) {
        for message in x.body_messages() {
            let answers = match message.get("id") {
                Some(id) if message.get("method").is_none() => index
                    .get(&(scope(a, x), id.to_string(), false))
                    .map(String::as_str),
                _ => None,
            };
            let mut judgement = schema.judge(message, answers);
            if judgement.definitions.is_empty() {
                continue;
            }
            judgement.breaches.extend(schema.wrong_side(message, false));
            findings_of(x.request_seq, schema.version(), judgement, &mut judged);
        }
    }
    judged
}
