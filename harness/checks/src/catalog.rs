//! The catalog: every check, declared once with its id, level, the spec section
//! it enforces (per version), the versions it applies to, and its function.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mcp_harness_wire::{Delivery, EndReason};
use serde_json::Value;

use crate::analysis::{Analysis, EventView, Exchange, KNOWN_VERSIONS};
use crate::verdict::{Finding, Level};

/// What a check function found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Judged {
    /// Subjects examined; 0 means the rule was not observed.
    pub examined: usize,
    /// Breaches.
    pub findings: Vec<Finding>,
}

/// Which protocol versions a check applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// Every version.
    All,
    /// Versions with `initialize` and sessions (before 2026-07-28).
    Legacy,
    /// 2025-11-25 and later legacy versions (SSE polling, SEP-1699).
    Since20251125,
    /// 2025-06-18 and later (the MCP-Protocol-Version header).
    Since20250618,
    /// 2026-07-28 and later.
    Modern,
}

impl Versions {
    /// Whether `version` is covered.
    pub fn covers(self, version: &str) -> bool {
        match self {
            Self::All => true,
            Self::Legacy => !crate::analysis::is_modern_version(version),
            Self::Since20251125 => version >= "2025-11-25",
            Self::Since20250618 => version >= "2025-06-18",
            Self::Modern => crate::analysis::is_modern_version(version),
        }
    }
}

/// A capability a check needs the target to have declared, or it is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing.
    Nothing,
    /// The server declared `tasks` (the 2026 extension).
    ServerTasks,
}

/// One check, declared once.
pub struct Check {
    /// Stable id.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub level: Level,
    /// Spec page and anchor, relative to `specification/<version>/`.
    pub section: &'static str,
    /// The sentence of the spec it enforces.
    pub quote: &'static str,
    /// Versions it applies to.
    pub versions: Versions,
    /// What the target must have declared.
    pub needs: Needs,
    /// The rule.
    pub run: fn(&Analysis) -> Judged,
}

impl Check {
    /// The citation for `version`: `specification/<version>/<section>`.
    pub fn citation(&self, version: &str) -> String {
        format!("specification/{version}/{}", self.section)
    }
}

/// Every check.
pub fn catalog() -> &'static [Check] {
    CATALOG
}

static CATALOG: &[Check] = &[
    Check {
        id: "jsonrpc.well_formed",
        level: Level::Must,
        section: "basic#messages",
        quote: "All messages between MCP clients and servers MUST follow the JSON-RPC 2.0 specification.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: jsonrpc_well_formed,
    },
    Check {
        id: "progress.token_known",
        level: Level::Must,
        section: "basic/utilities/progress#behavior-requirements",
        quote: "Progress notifications MUST only reference tokens that were provided in an active request.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: progress_token_known,
    },
    Check {
        id: "progress.increasing",
        level: Level::Must,
        section: "basic/utilities/progress#progress-flow",
        quote: "The progress value MUST increase with each notification, even if the total is unknown.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: progress_increasing,
    },
    Check {
        id: "progress.not_after_response",
        level: Level::Must,
        section: "basic/utilities/progress#behavior-requirements",
        quote: "Progress notifications MUST only reference tokens that were provided in an active request (none after its response).",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: progress_not_after_response,
    },
    Check {
        id: "stream.no_duplicate_event",
        level: Level::Must,
        section: "basic/transports#resumability-and-redelivery",
        quote: "Event IDs ... act as a cursor within that particular stream; a resumed stream must not deliver an event the client already had.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: no_duplicate_event,
    },
    Check {
        id: "stream.get_no_response",
        level: Level::Must,
        section: "basic/transports#listening-for-messages-from-the-server",
        quote: "The server MUST NOT send a JSON-RPC response on the stream unless resuming a stream associated with a previous client request.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: get_no_response,
    },
    Check {
        id: "stream.no_duplicate_message",
        level: Level::Must,
        section: "basic/transports#multiple-connections",
        quote: "The server MUST send each of its JSON-RPC messages on only one of the connected streams; that is, it MUST NOT broadcast the same message across multiple streams.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: no_duplicate_message,
    },
    Check {
        id: "stream.replay_same_stream_only",
        level: Level::Must,
        section: "basic/transports#resumability-and-redelivery",
        quote: "The server MUST NOT replay messages that would have been delivered on a different stream.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: replay_same_stream_only,
    },
    Check {
        id: "stream.event_id_unique",
        level: Level::Must,
        section: "basic/transports#resumability-and-redelivery",
        quote: "These event IDs MUST be globally unique across all streams within that session.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: event_id_unique,
    },
    Check {
        id: "stream.nothing_lost",
        level: Level::Should,
        section: "basic/transports#resumability-and-redelivery",
        quote: "The server MAY use this header to replay messages that would have been sent after the last event ID, on the stream that was disconnected (judged after a partition, when the proxy saw them all).",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: nothing_lost,
    },
    Check {
        id: "response.exactly_once",
        level: Level::Must,
        section: "basic#responses",
        quote: "The Server MUST reply with a Response (JSON-RPC 2.0, section 4): every request gets exactly one, unless a fault, a kill or the client's own silence stood in its way.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: response_exactly_once,
    },
    Check {
        id: "stream.response_after_resume",
        level: Level::Should,
        section: "basic/transports#sending-messages-to-the-server",
        quote: "The SSE stream SHOULD eventually include a JSON-RPC response for the JSON-RPC request sent in the POST body.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: response_after_resume,
    },
    Check {
        id: "stream.replay_after_last_event_id",
        level: Level::Must,
        section: "basic/transports#resumability-and-redelivery",
        quote: "The server MAY use this header to replay messages that would have been sent after the last event ID (after it: the event the ID names is one the client has).",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: replay_after_last_event_id,
    },
    Check {
        id: "stream.replay_own_session_only",
        level: Level::Must,
        section: "basic/transports#resumability-and-redelivery",
        quote: "The server MUST NOT replay messages that would have been delivered on a different stream (another session's streams are different streams).",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: replay_own_session_only,
    },
    Check {
        id: "stream.request_scoped_on_own_stream",
        level: Level::Should,
        section: "basic/transports#listening-for-messages-from-the-server",
        quote: "These messages SHOULD be unrelated to any concurrently-running JSON-RPC request from the client (a request's progress goes on its own stream).",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: request_scoped_on_own_stream,
    },
    Check {
        id: "load.refusals",
        level: Level::Should,
        section: "basic/transports#sending-messages-to-the-server",
        quote: "If the input is a JSON-RPC request, the server MUST either return Content-Type: text/event-stream, to initiate an SSE stream, or Content-Type: application/json, to return one JSON object (a refusal under load returns neither).",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: load_refusals,
    },
    Check {
        id: "sse.priming_event",
        level: Level::Should,
        section: "basic/transports#sending-messages-to-the-server",
        quote: "The server SHOULD immediately send an SSE event consisting of an event ID and an empty data field in order to prime the client to reconnect.",
        versions: Versions::Since20251125,
        needs: Needs::Nothing,
        run: priming_event,
    },
    Check {
        id: "session.id_visible_ascii",
        level: Level::Must,
        section: "basic/transports#session-management",
        quote: "The session ID MUST only contain visible ASCII characters (ranging from 0x21 to 0x7E).",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: session_id_ascii,
    },
    Check {
        id: "session.missing_id_400",
        level: Level::Should,
        section: "basic/transports#session-management",
        quote: "Servers that require a session ID SHOULD respond to requests without an Mcp-Session-Id header (other than initialization) with HTTP 400 Bad Request.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: session_missing_400,
    },
    Check {
        id: "session.unknown_id_404",
        level: Level::Must,
        section: "basic/transports#session-management",
        quote: "The server MAY terminate the session at any time, after which it MUST respond to requests containing that session ID with HTTP 404 Not Found.",
        versions: Versions::Legacy,
        needs: Needs::Nothing,
        run: session_unknown_404,
    },
    Check {
        id: "version.invalid_header_400",
        level: Level::Must,
        section: "basic/transports#protocol-version-header",
        quote: "If the server receives a request with an invalid or unsupported MCP-Protocol-Version, it MUST respond with 400 Bad Request.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: version_header_400,
    },
    Check {
        id: "security.origin_403",
        level: Level::Must,
        section: "basic/transports#security-warning",
        quote: "If the Origin header is present and invalid, servers MUST respond with HTTP 403 Forbidden.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: origin_403,
    },
    Check {
        id: "elicitation.only_if_declared",
        level: Level::Must,
        section: "client/elicitation#capabilities",
        quote: "Clients that support elicitation MUST declare the elicitation capability; servers must not elicit from clients that did not.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: elicitation_declared,
    },
    Check {
        id: "elicitation.flat_schema",
        level: Level::Must,
        section: "client/elicitation#requested-schema",
        quote: "The requestedSchema is restricted to flat objects with primitive properties only.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: elicitation_flat_schema,
    },
    Check {
        id: "sampling.only_if_declared",
        level: Level::Must,
        section: "client/sampling#capabilities",
        quote: "Clients that support sampling MUST declare the sampling capability; servers must not sample from clients that did not.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: sampling_declared,
    },
    Check {
        id: "logging.only_if_declared",
        level: Level::Must,
        section: "server/utilities/logging#capabilities",
        quote: "Servers that emit log message notifications MUST declare the logging capability.",
        versions: Versions::All,
        needs: Needs::Nothing,
        run: logging_declared,
    },
    Check {
        id: "tasks.legal_transitions",
        level: Level::Must,
        section: "basic/utilities/tasks#task-status",
        quote: "Tasks move from working to input_required or a terminal status; terminal statuses are final.",
        versions: Versions::Modern,
        needs: Needs::ServerTasks,
        run: task_transitions,
    },
];

fn method_of(message: &Value) -> Option<&str> {
    message.get("method").and_then(Value::as_str)
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

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 160 {
        format!("{}...", &text[..text.floor_char_boundary(157)])
    } else {
        text
    }
}

/// Progress tokens the client sent, per session, with the request's JSON-RPC id.
fn tokens_sent(a: &Analysis) -> HashMap<(String, String), Value> {
    let mut tokens = HashMap::new();
    for x in &a.exchanges {
        if let (Some(token), Some(id)) = (
            x.body
                .as_ref()
                .and_then(|b| b.pointer("/params/_meta/progressToken")),
            x.rpc_id(),
        ) {
            tokens.insert(
                (
                    x.session().unwrap_or_default().to_owned(),
                    token.to_string(),
                ),
                id.clone(),
            );
        }
    }
    tokens
}

fn progress_of(message: &Value) -> Option<(String, f64)> {
    if method_of(message) != Some("notifications/progress") {
        return None;
    }
    let params = message.get("params")?;
    Some((
        params.get("progressToken")?.to_string(),
        params.get("progress")?.as_f64()?,
    ))
}

fn progress_token_known(a: &Analysis) -> Judged {
    let tokens = tokens_sent(a);
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if let Some((token, _)) = progress_of(message) {
                judged.examined += 1;
                if !tokens
                    .contains_key(&(x.session().unwrap_or_default().to_owned(), token.clone()))
                {
                    judged.findings.push(Finding::at(
                        seq,
                        format!("progress for token {token}, which the client never sent"),
                        "only tokens of the client's own requests",
                    ));
                }
            }
        }
    }
    judged
}

/// Delivered messages of the run in record order, each event id once.
fn delivered_in_order(a: &Analysis) -> Vec<(u64, &Exchange, &Value)> {
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
fn is_token_text(t: &Value, token: &str) -> bool {
    serde_json::to_string(t).is_ok_and(|text| text == token)
}

/// The request a progress notification at record `seq` belongs to: the latest
/// request of the session that sent its token before it.
fn request_of_token(a: &Analysis, session: &str, token: &str, seq: u64) -> Option<u64> {
    a.exchanges
        .iter()
        .filter(|x| x.request_seq < seq && x.session().unwrap_or_default() == session)
        .filter(|x| {
            x.body
                .as_ref()
                .and_then(|b| b.pointer("/params/_meta/progressToken"))
                .is_some_and(|t| is_token_text(t, token))
        })
        .map(|x| x.id)
        .next_back()
}

fn progress_increasing(a: &Analysis) -> Judged {
    let mut last: HashMap<(String, String, Option<u64>), f64> = HashMap::new();
    let mut judged = Judged::default();
    for (seq, x, message) in delivered_in_order(a) {
        if let Some((token, value)) = progress_of(message) {
            judged.examined += 1;
            let session = x.session().unwrap_or_default().to_owned();
            // A request's own stream carries its progress; a resumed stream carries
            // the progress of the stream it resumes (the latest request with the token).
            let own = x
                .body
                .as_ref()
                .and_then(|b| b.pointer("/params/_meta/progressToken"))
                .is_some_and(|t| is_token_text(t, &token));
            let request = if own {
                Some(x.id)
            } else {
                request_of_token(a, &session, &token, seq)
            };
            let key = (session, token.clone(), request);
            if let Some(previous) = last.get(&key)
                && value <= *previous
            {
                judged.findings.push(Finding::at(
                    seq,
                    format!("progress {value} for token {token} after {previous}"),
                    "a value greater than the last one",
                ));
            }
            last.insert(key, value);
        }
    }
    judged
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

fn progress_not_after_response(a: &Analysis) -> Judged {
    let tokens = tokens_sent(a);
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let session = x.session().unwrap_or_default().to_owned();
        let mut answered: BTreeSet<String> = BTreeSet::new();
        for e in &x.events {
            let Some(message) = &e.message else { continue };
            if is_response(message) {
                answered.insert(message["id"].to_string());
            } else if let Some((token, _)) = progress_of(message) {
                judged.examined += 1;
                if let Some(request) = tokens.get(&(session.clone(), token.clone()))
                    && answered.contains(&request.to_string())
                {
                    judged.findings.push(Finding::at(
                        e.seq,
                        format!(
                            "progress for token {token} after the response to request {request}"
                        ),
                        "no progress once the request is answered",
                    ));
                }
            }
        }
    }
    judged
}

/// An event's identity for "delivered twice": its session, id and content (the
/// same id on different content is a reused id, judged by stream.event_id_unique).
fn event_identity(x: &Exchange, e: &EventView, id: &str) -> (String, String, String) {
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

fn no_duplicate_event(a: &Analysis) -> Judged {
    // When each event (and each event id) first reached the client.
    let mut seen: HashMap<(String, String, String), u64> = HashMap::new();
    let mut id_first: HashMap<(String, String), u64> = HashMap::new();
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let session = x.session().unwrap_or_default().to_owned();
        // On a resume, the client says it had every event delivered up to its
        // Last-Event-ID; events delivered after that one may be replayed.
        let had_until = x
            .is_resume()
            .then_some(x.headers.last_event_id.as_ref())
            .flatten()
            .map(|last| id_first.get(&(session.clone(), last.clone())).copied());
        for e in x
            .events
            .iter()
            .filter(|e| e.delivery == Delivery::Delivered)
        {
            let Some(id) = &e.id else { continue };
            // Where the client first had each id (a priming event's too: a
            // resume from it says the client had everything up to there).
            id_first
                .entry((session.clone(), id.clone()))
                .or_insert(e.seq);
            if e.empty {
                continue; // a priming event carries nothing to deliver twice
            }
            judged.examined += 1;
            let key = event_identity(x, e, id);
            match seen.get(&key) {
                Some(first) => {
                    let client_had_it = match had_until {
                        // A resume: a duplicate only if the client said it had it.
                        Some(Some(until)) => *first <= until,
                        // A resume from an id never delivered, or no resume at all.
                        Some(None) | None => true,
                    };
                    if client_had_it {
                        judged.findings.push(Finding::at(
                            e.seq,
                            format!("event {id} delivered again (first at record {first})"),
                            "each event delivered once",
                        ));
                    }
                }
                None => {
                    seen.insert(key, e.seq);
                }
            }
        }
    }
    judged
}

/// Where JSON-RPC ids are unique: a session (legacy), or one POST and its
/// stream (2026-07-28 has no sessions, so two clients may use the same ids).
fn id_scope(a: &Analysis, x: &Exchange) -> String {
    match x.session() {
        Some(session) if !a.is_modern() => session.to_owned(),
        // No session to tell clients apart: a request's stream and its resumes.
        _ => format!("exchange {}", a.stream_root(x).id),
    }
}

fn no_duplicate_message(a: &Analysis) -> Judged {
    // Requests and responses carry ids; the same one delivered under two event ids is a duplicate.
    let mut seen: HashMap<(String, String, bool), (u64, Option<String>)> = HashMap::new();
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for e in x
            .events
            .iter()
            .filter(|e| e.delivery == Delivery::Delivered)
        {
            let Some(message) = &e.message else { continue };
            let Some(id) = message.get("id") else {
                continue;
            };
            judged.examined += 1;
            let key = (id_scope(a, x), id.to_string(), is_response(message));
            match seen.get(&key) {
                Some((first, first_event)) if e.id.is_none() || *first_event != e.id => {
                    judged.findings.push(Finding::at(
                        e.seq,
                        format!(
                            "{} {id} delivered again under event {:?} (first at record {first})",
                            if key.2 { "response" } else { "request" },
                            e.id
                        ),
                        "each message on one stream, once",
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(key, (e.seq, e.id.clone()));
                }
            }
        }
    }
    judged
}

fn get_no_response(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a
        .exchanges
        .iter()
        .filter(|x| x.method == "GET" && !x.is_resume())
    {
        for e in &x.events {
            let Some(message) = &e.message else { continue };
            judged.examined += 1;
            if is_response(message) {
                judged.findings.push(Finding::at(
                    e.seq,
                    format!(
                        "a response to request {} on the standalone GET stream",
                        message["id"]
                    ),
                    "requests and notifications only on a GET stream that is not a resume",
                ));
            }
        }
    }
    judged
}

fn replay_same_stream_only(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.is_resume()) {
        let Some(last) = x.headers.last_event_id.as_deref() else {
            continue;
        };
        let Some(origin) = a.origin_of(x.session(), last) else {
            // An id the server never issued names no stream: whatever it replays
            // from an earlier stream is another stream's.
            for (e, id) in replayed_messages(x) {
                judged.examined += 1;
                if let Some(from) = a.origin_of(x.session(), id)
                    && from.id != x.id
                {
                    judged.findings.push(Finding::at(
                        e.seq,
                        format!(
                            "resume after {last}, an id never issued, replayed event {id} of exchange {}",
                            from.id
                        ),
                        "nothing replayed for an unknown Last-Event-ID",
                    ));
                }
            }
            continue;
        };
        for (e, id) in replayed_messages(x) {
            judged.examined += 1;
            let Some(from) = a.origin_of(x.session(), id) else {
                continue;
            };
            if from.id == x.id {
                continue; // new events of the resumed stream
            }
            // An event first seen on an earlier resume of the same stream (withheld
            // there by a cut) belongs to the same logical stream.
            if a.stream_root(from).id != a.stream_root(origin).id {
                let other_session = from.session() != x.session();
                judged.findings.push(Finding::at(
                    e.seq,
                    format!(
                        "resume after {last} replayed event {id} of {} stream (exchange {})",
                        if other_session {
                            "another session's"
                        } else {
                            "another"
                        },
                        from.id
                    ),
                    format!(
                        "only events of the stream of {last} (exchange {})",
                        origin.id
                    ),
                ));
            }
        }
    }
    judged
}

/// The delivered events of `x` that carry a message and an event id, with the id.
fn replayed_messages(x: &Exchange) -> impl Iterator<Item = (&EventView, &String)> {
    x.events
        .iter()
        .filter(|e| e.delivery == Delivery::Delivered && e.message.is_some())
        .filter_map(|e| e.id.as_ref().map(|id| (e, id)))
}

fn event_id_unique(a: &Analysis) -> Judged {
    let mut seen: HashMap<(String, String), (u64, String)> = HashMap::new();
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for e in &x.events {
            let Some(id) = &e.id else { continue };
            judged.examined += 1;
            let content = e.message.as_ref().map(Value::to_string).unwrap_or_default();
            let key = (x.session().unwrap_or_default().to_owned(), id.clone());
            match seen.get(&key) {
                Some((first, other)) if *other != content => judged.findings.push(Finding::at(
                    e.seq,
                    format!("event id {id} names two different events (first at record {first})"),
                    "an id per event, unique across the session's streams",
                )),
                Some(_) => {}
                None => {
                    seen.insert(key, (e.seq, content));
                }
            }
        }
    }
    judged
}

fn delivered_ids(a: &Analysis) -> BTreeSet<(String, String)> {
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

fn nothing_lost(a: &Analysis) -> Judged {
    let delivered = delivered_ids(a);
    // What reached the client, per session: event ids and message contents.
    let mut delivered_events: BTreeSet<(String, String)> = BTreeSet::new();
    let mut delivered_contents: BTreeSet<(String, String)> = BTreeSet::new();
    for x in &a.exchanges {
        let session = x.session().unwrap_or_default().to_owned();
        for e in x
            .events
            .iter()
            .filter(|e| e.delivery == Delivery::Delivered)
        {
            if let Some(id) = &e.id {
                delivered_events.insert((session.clone(), id.clone()));
            }
            if let Some(m) = &e.message {
                delivered_contents.insert((session.clone(), m.to_string()));
            }
        }
    }
    let mut judged = Judged::default();
    for x in &a.exchanges {
        // Only a partition drains the server's stream, so only then does the
        // proxy know everything the client missed (a cut closes the server's
        // side at once: what it had read by then is a matter of timing).
        if !a.faults_on(x).any(|f| f == "partition") {
            continue;
        }
        // The client's own session resumed the stream.
        let resumed = a.exchanges.iter().any(|r| {
            r.is_resume()
                && r.request_seq > x.request_seq
                && r.headers.mcp_session_id == x.headers.mcp_session_id
                && r.headers
                    .last_event_id
                    .as_deref()
                    .and_then(|id| a.origin_of(r.session(), id))
                    .is_some_and(|o| o.id == x.id)
        });
        if !resumed {
            continue;
        }
        let session = x.session().unwrap_or_default().to_owned();
        for e in x.events.iter().filter(|e| e.delivery == Delivery::Withheld) {
            let Some(m) = &e.message else { continue };
            judged.examined += 1;
            let by_rpc_id = m.get("id").is_some_and(|id| {
                delivered.contains(&(
                    session.clone(),
                    format!("{}{}", if is_response(m) { "r" } else { "q" }, id),
                ))
            });
            let by_event_id =
                e.id.as_ref()
                    .is_some_and(|id| delivered_events.contains(&(session.clone(), id.clone())));
            let by_content = delivered_contents.contains(&(session.clone(), m.to_string()));
            if !(by_rpc_id || by_event_id || by_content) {
                let what = match (m.get("method").and_then(Value::as_str), m.get("id")) {
                    (Some(method), Some(id)) => format!("request {id} ({method})"),
                    (Some(method), None) => format!("a {method} notification"),
                    (None, Some(id)) => format!("response {id}"),
                    (None, None) => "a message".to_owned(),
                };
                judged.findings.push(Finding::at(
                    e.seq,
                    format!(
                        "{what} was withheld by the cut and never replayed after the client resumed"
                    ),
                    "the cut stream's messages replayed on resume",
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

fn response_after_resume(a: &Analysis) -> Judged {
    let delivered = delivered_ids(a);
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.method == "POST") {
        let Some(id) = x.rpc_id() else { continue };
        let cut = a
            .faults_on(x)
            .any(|f| matches!(f, "cut" | "partition" | "close_with_retry"));
        // The server offered resumption: the client got an event id on the stream.
        let offered = x
            .events
            .iter()
            .any(|e| e.id.is_some() && e.delivery == Delivery::Delivered);
        let resumes: Vec<&Exchange> = resumes_of(a, x).collect();
        if !cut || !offered || resumes.is_empty() {
            continue;
        }
        if a.kills.iter().any(|k| *k > x.request_seq) {
            continue; // the run was interrupted: durability, not the stream, is judged
        }
        judged.examined += 1;
        let key = (x.session().unwrap_or_default().to_owned(), format!("r{id}"));
        if !delivered.contains(&key) {
            let last = resumes
                .last()
                .and_then(|r| r.headers.last_event_id.clone())
                .unwrap_or_default();
            judged.findings.push(Finding::at(
                x.request_seq,
                format!(
                    "the response to request {id} was lost: its stream was cut, the client resumed {} time(s) (last from event {last}) and never got it",
                    resumes.len()
                ),
                "the response on the resumed stream",
            ));
        }
    }
    judged
}

fn replay_after_last_event_id(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.is_resume()) {
        let Some(last) = x.headers.last_event_id.as_deref() else {
            continue;
        };
        for e in x
            .events
            .iter()
            .filter(|e| e.delivery == Delivery::Delivered && e.id.is_some())
        {
            judged.examined += 1;
            if e.id.as_deref() == Some(last) {
                judged.findings.push(Finding::at(
                    e.seq,
                    format!("the resume after event {last} delivered event {last} itself again"),
                    "only events after the Last-Event-ID",
                ));
            }
        }
    }
    judged
}

fn replay_own_session_only(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.is_resume()) {
        // A resume from an id only another session's stream carried: whatever
        // it brings is that stream's (events the proxy never saw before too).
        let foreign_stream = x
            .headers
            .last_event_id
            .as_deref()
            .and_then(|last| a.origin_elsewhere(x, last));
        for (e, id) in replayed_messages(x) {
            judged.examined += 1;
            // Or an event this session never had, which another session had
            // with the same content (ids alone may repeat across sessions).
            let copied = a.origin_elsewhere(x, id).filter(|from| {
                from.events
                    .iter()
                    .any(|o| o.id.as_deref() == Some(id) && o.message == e.message && o.seq < e.seq)
            });
            let from = copied.or(foreign_stream);
            if let Some(from) = from {
                judged.findings.push(Finding::at(
                    e.seq,
                    format!(
                        "a resume of session {} replayed event {id} of session {} (exchange {})",
                        x.session().unwrap_or("(none)"),
                        from.session().unwrap_or("(none)"),
                        from.id
                    ),
                    "only the asking session's own events",
                ));
            }
        }
    }
    judged
}

fn request_scoped_on_own_stream(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let standalone = x.method == "GET" && !x.is_resume();
        for (seq, message, _) in x.server_messages() {
            let Some((token, _)) = progress_of(message) else {
                continue;
            };
            // Progress names its request by token: it is request-scoped, on
            // whichever stream it arrives (the order of two streams' records
            // says little about when the server sent them).
            let owner = a.exchanges.iter().find(|r| {
                r.method == "POST"
                    && r.request_seq < seq
                    && r.session() == x.session()
                    && r.body
                        .as_ref()
                        .and_then(|b| b.pointer("/params/_meta/progressToken"))
                        .is_some_and(|t| is_token_text(t, &token))
            });
            let Some(owner) = owner else { continue };
            judged.examined += 1;
            if standalone {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "progress for token {token} of request {} on the standalone GET stream",
                        owner.rpc_id().cloned().unwrap_or_default()
                    ),
                    "a request's progress on its own stream (or its resumption)",
                ));
            }
        }
    }
    judged
}

fn load_refusals(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let mut refused: Vec<&Exchange> = Vec::new();
    for x in a
        .exchanges
        .iter()
        .filter(|x| x.method == "POST" && x.rpc_id().is_some())
    {
        judged.examined += 1;
        // A 5xx from the server, or a connection it broke or never answered
        // on (the proxy then ends the exchange without a response head).
        let server_error = x.status().is_some_and(|s| s >= 500);
        let broken = x.status().is_none()
            && matches!(x.end, Some(EndReason::UpstreamError | EndReason::Timeout));
        if (server_error || broken) && !a.fault_in_the_way(x) {
            refused.push(x);
        }
    }
    if let Some(first) = refused.first() {
        judged.findings.push(Finding::at(
            first.request_seq,
            format!(
                "{} request(s) refused with a 5xx status or a broken connection, the first ({}) from session {} with {}",
                refused.len(),
                first.rpc_method().unwrap_or("a request"),
                first.session().unwrap_or("(none)"),
                first
                    .status()
                    .map(|s| format!("HTTP {s}"))
                    .unwrap_or_else(|| "no response".into())
            ),
            "every request accepted (an SSE stream or a JSON answer)",
        ));
    }
    judged
}

fn priming_event(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a
        .exchanges
        .iter()
        .filter(|x| x.method == "POST" && !x.events.is_empty())
    {
        if x.rpc_method() == Some("initialize") || x.rpc_id().is_none() {
            continue;
        }
        judged.examined += 1;
        let first = &x.events[0];
        if !(first.id.is_some() && first.empty) {
            judged.findings.push(Finding::at(
                first.seq,
                "the stream starts with a message, not a priming event",
                "an event with an id and empty data first",
            ));
        }
    }
    judged
}

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

fn origin_is_local(origin: &str) -> bool {
    let host = origin.split("://").nth(1).unwrap_or(origin);
    let host = host.split('/').next().unwrap_or(host);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn origin_403(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some(origin) = &x.headers.origin else {
            continue;
        };
        if origin_is_local(origin) {
            continue;
        }
        let Some(status) = x.status() else { continue };
        judged.examined += 1;
        if status != 403 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("a request from Origin {origin} got {status}"),
                "403 Forbidden for a foreign Origin",
            ));
        }
    }
    judged
}

/// Server questions of a kind (`elicitation/create`, `sampling/createMessage`),
/// sent as requests or inside `inputRequests`, with the exchange they rode on.
fn questions<'a>(a: &'a Analysis, method: &'a str) -> Vec<(u64, &'a Exchange, Value)> {
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

fn declared(a: &Analysis, x: &Exchange, capability: &str) -> bool {
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

fn only_if_declared(a: &Analysis, method: &str, capability: &str) -> Judged {
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

fn elicitation_declared(a: &Analysis) -> Judged {
    only_if_declared(a, "elicitation/create", "elicitation")
}

fn sampling_declared(a: &Analysis) -> Judged {
    only_if_declared(a, "sampling/createMessage", "sampling")
}

fn elicitation_flat_schema(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (seq, _, params) in questions(a, "elicitation/create") {
        let Some(schema) = params.get("requestedSchema") else {
            continue;
        };
        judged.examined += 1;
        let flat = schema.get("type") == Some(&Value::String("object".into()))
            && schema
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|props| {
                    props.values().all(|p| {
                        matches!(
                            p.get("type").and_then(Value::as_str),
                            Some("string" | "number" | "integer" | "boolean")
                        ) || p.get("enum").is_some()
                            || p.get("oneOf").is_some()
                    })
                });
        if !flat {
            judged.findings.push(Finding::at(
                seq,
                format!("requestedSchema {}", short(schema)),
                "a flat object of primitive properties",
            ));
        }
    }
    judged
}

fn logging_declared(a: &Analysis) -> Judged {
    let declared = a
        .server_capabilities
        .as_ref()
        .and_then(|c| c.get("logging"))
        .is_some();
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if method_of(message) == Some("notifications/message") {
                judged.examined += 1;
                if !declared {
                    judged.findings.push(Finding::at(
                        seq,
                        "a log message from a server that did not declare `logging`",
                        "declare `logging` before sending notifications/message",
                    ));
                }
            }
        }
    }
    judged
}

fn task_transitions(a: &Analysis) -> Judged {
    let terminal = |s: &str| matches!(s, "completed" | "failed" | "cancelled");
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut judged = Judged::default();
    for (seq, _, message) in delivered_in_order(a) {
        let Some(result) = message.get("result") else {
            continue;
        };
        let (Some(id), Some(status)) = (
            result.get("taskId").and_then(Value::as_str),
            result.get("status").and_then(Value::as_str),
        ) else {
            continue;
        };
        judged.examined += 1;
        if let Some(previous) = last.get(id) {
            let legal = if terminal(previous) {
                previous == status
            } else {
                true
            };
            if !legal {
                judged.findings.push(Finding::at(
                    seq,
                    format!("task {id} went from {previous} to {status}"),
                    "a terminal status is final",
                ));
            }
        }
        last.insert(id.to_owned(), status.to_owned());
    }
    judged
}
