//! Streams and replay: event ids, resumption with Last-Event-ID, one stream per message, priming, refusals under load.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::{BTreeSet, HashMap};

use mcp_harness_wire::{Delivery, EndReason, Fault};
use serde_json::Value;

use super::support::{
    delivered_ids, event_identity, id_scope, is_response, is_token_text, progress_of,
    replayed_messages, resumes_of,
};
use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "stream.no_duplicate_event",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#resumability-and-redelivery",
            quote: "Event IDs ... act as a cursor within that particular stream; a resumed stream must not deliver an event the client already had.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: no_duplicate_event,
    },
    Check {
        id: "stream.no_duplicate_message",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic/transports#multiple-connections",
            quote: "The server MUST send each of its JSON-RPC messages on only one of the connected streams; that is, it MUST NOT broadcast the same message across multiple streams.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: no_duplicate_message,
    },
    Check {
        id: "stream.get_no_response",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#listening-for-messages-from-the-server",
            quote: "The server MUST NOT send a JSON-RPC response on the stream unless resuming a stream associated with a previous client request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: get_no_response,
    },
    Check {
        id: "stream.replay_same_stream_only",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#resumability-and-redelivery",
            quote: "The server MUST NOT replay messages that would have been delivered on a different stream.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: replay_same_stream_only,
    },
    Check {
        id: "stream.event_id_unique",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#resumability-and-redelivery",
            quote: "These event IDs MUST be globally unique across all streams within that session.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: event_id_unique,
    },
    Check {
        id: "stream.nothing_lost",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#resumability-and-redelivery",
            quote: "The server MAY use this header to replay messages that would have been sent after the last event ID, on the stream that was disconnected (judged after a partition, when the proxy saw them all).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: nothing_lost,
    },
    Check {
        id: "stream.response_after_resume",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#sending-messages-to-the-server",
            quote: "The SSE stream SHOULD eventually include a JSON-RPC response for the JSON-RPC request sent in the POST body.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: response_after_resume,
    },
    Check {
        id: "stream.replay_after_last_event_id",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#resumability-and-redelivery",
            quote: "The server MAY use this header to replay messages that would have been sent after the last event ID (after it: the event the ID names is one the client has).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: replay_after_last_event_id,
    },
    Check {
        id: "stream.replay_own_session_only",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Must,
            section: "basic/transports#resumability-and-redelivery",
            quote: "The server MUST NOT replay messages that would have been delivered on a different stream (another session's streams are different streams).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: replay_own_session_only,
    },
    Check {
        id: "stream.closed_after_response",
        rules: &[
            Rule {
                versions: Versions::before("2025-06-18"),
                level: Level::Should,
                section: "basic/transports#sending-messages-to-the-server",
                quote: "After all JSON-RPC responses have been sent, the server SHOULD close the SSE stream.",
            },
            Rule {
                versions: Versions::between("2025-06-18", "2026-07-28"),
                level: Level::Should,
                section: "basic/transports#sending-messages-to-the-server",
                quote: "After the JSON-RPC response has been sent, the server SHOULD close the SSE stream (a resumed stream too: it is the same stream).",
            },
        ],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: closed_after_response,
    },
    Check {
        id: "stream.request_scoped_on_own_stream",
        rules: &[Rule {
            versions: Versions::LEGACY,
            level: Level::Should,
            section: "basic/transports#listening-for-messages-from-the-server",
            quote: "These messages SHOULD be unrelated to any concurrently-running JSON-RPC request from the client (a request's progress, and a question a call waits for, go on its own stream).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: request_scoped_on_own_stream,
    },
    Check {
        id: "load.refusals",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Should,
            section: "basic/transports#sending-messages-to-the-server",
            quote: "If the input is a JSON-RPC request, the server MUST either return Content-Type: text/event-stream, to initiate an SSE stream, or Content-Type: application/json, to return one JSON object (a refusal under load returns neither).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: load_refusals,
    },
    Check {
        id: "sse.priming_event",
        rules: &[Rule {
            versions: Versions::between("2025-11-25", "2026-07-28"),
            level: Level::Should,
            section: "basic/transports#sending-messages-to-the-server",
            quote: "The server SHOULD immediately send an SSE event consisting of an event ID and an empty data field in order to prime the client to reconnect.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: priming_event,
    },
    Check {
        id: "stream.not_resumable",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: "basic/transports/streamable-http",
            quote: "2026-07-28 removes SSE stream resumability and message redelivery (the Last-Event-ID header and SSE event ids): a server ignores Last-Event-ID, and a client whose stream broke re-issues its request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: not_resumable,
    },
];

/// 2026-07-28: a request with `Last-Event-ID` brings back nothing of an
/// earlier stream (a GET none at all; a POST only what answers its own body).
fn not_resumable(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a
        .exchanges
        .iter()
        .filter(|x| x.headers.last_event_id.is_some())
    {
        judged.examined += 1;
        let own = x.rpc_id();
        for (seq, message, delivery) in x.server_messages() {
            let answers_own = own.is_some() && message.get("id") == own && is_response(message);
            let about_own = own.is_some() && !is_response(message);
            if delivery == Delivery::Delivered && !answers_own && !about_own {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "{} with Last-Event-ID {} brought back {}",
                        x.method,
                        x.headers.last_event_id.as_deref().unwrap_or_default(),
                        super::support::short(message)
                    ),
                    "nothing replayed: 2026-07-28 streams are not resumable",
                ));
            }
        }
    }
    judged
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
        if !a.faults_on(x).any(Fault::is_partition) {
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

fn response_after_resume(a: &Analysis) -> Judged {
    let delivered = delivered_ids(a);
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.method == "POST") {
        let Some(id) = x.rpc_id() else { continue };
        let cut = a.faults_on(x).any(Fault::ends_stream);
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
        if standalone {
            judge_requests_on_standalone(a, x, &mut judged);
        }
    }
    judged
}

/// How long a stream must have stayed open after carrying its response, until
/// the client hung up, to be judged unclosed: the scripted client reads on for
/// 500 ms after a response, as a client waiting for the server to close does,
/// so a stream it left sooner is not judged.
const UNCLOSED_AFTER_US: u64 = 400_000;

/// Each SSE stream that carried the response it exists for (a POST's own
/// response; on a resume of a POST's stream, that POST's response) and was
/// then closed by the server passes; one the client had to hang up on, after
/// waiting [`UNCLOSED_AFTER_US`], is a finding. A stream a fault acted on or
/// stood in the way of is not judged: the fault decides how it ends.
fn closed_after_response(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        // A resume of a POST's stream carries that POST's response; a resume
        // of the standalone GET stream exists for no response at all.
        let resumes_a_post = x.is_resume()
            && x.headers
                .last_event_id
                .as_deref()
                .and_then(|id| a.origin_of(x.session(), id))
                .is_some_and(|origin| origin.method == "POST");
        let own = |m: &Value| {
            is_response(m) && (resumes_a_post || (x.method == "POST" && m.get("id") == x.rpc_id()))
        };
        let Some(response) = x
            .events
            .iter()
            .find(|e| e.delivery == Delivery::Delivered && e.message.as_ref().is_some_and(own))
        else {
            continue;
        };
        if a.fault_in_the_way(x) || a.faults_on(x).next().is_some() {
            continue;
        }
        match (x.end, x.end_at_us) {
            (Some(EndReason::Complete), _) => judged.examined += 1,
            (Some(EndReason::ClientGone), Some(end))
                if end.saturating_sub(response.at_us) >= UNCLOSED_AFTER_US =>
            {
                judged.examined += 1;
                let stream = if x.is_resume() {
                    format!(
                        "the resumed stream (GET with Last-Event-ID {})",
                        x.headers.last_event_id.as_deref().unwrap_or_default()
                    )
                } else {
                    format!(
                        "the stream of request {} ({})",
                        x.rpc_id().cloned().unwrap_or_default(),
                        x.rpc_method().unwrap_or("?")
                    )
                };
                judged.findings.push(Finding::at(
                    response.seq,
                    format!(
                        "{stream} stayed open {} ms after carrying its response, until the client hung up",
                        (end - response.at_us) / 1000
                    ),
                    "the server closes the stream once the response is sent",
                ));
            }
            // The client left sooner, or the stream broke: not judged.
            _ => {}
        }
    }
    judged
}

/// A question of the server's (elicitation, sampling) on the standalone GET
/// stream that a call of the same session waited for: the client answered
/// it, and only then did the call's response come. The request relates to
/// that call, so it belongs on the call's stream (one sent on both is judged
/// by `stream.no_duplicate_message`, and not here).
fn judge_requests_on_standalone(a: &Analysis, get: &Exchange, judged: &mut Judged) {
    let session = get.session();
    for (seq, request, _) in get.server_messages() {
        let (Some(method), Some(id)) = (
            request.get("method").and_then(Value::as_str),
            request.get("id"),
        ) else {
            continue;
        };
        // Questions a call asks; a ping or a roots request on the GET stream
        // may well be the session's own.
        if !matches!(method, "elicitation/create" | "sampling/createMessage") {
            continue;
        }
        // The client's answer: a POST of a response with the request's id.
        let Some(answer) = a.exchanges.iter().find(|y| {
            y.method == "POST"
                && y.request_seq > seq
                && y.session() == session
                && y.body_messages()
                    .iter()
                    .any(|m| m.get("method").is_none() && m.get("id") == Some(id))
        }) else {
            continue;
        };
        // A call in flight when the request came, answered after the answer.
        let waited = a.exchanges.iter().find(|c| {
            c.method == "POST"
                && c.rpc_method() == Some("tools/call")
                && c.request_seq < seq
                && c.session() == session
                && c.rpc_id().is_some_and(|call_id| {
                    a.exchanges
                        .iter()
                        .filter(|r| r.session() == session)
                        .flat_map(Exchange::server_messages)
                        .any(|(at, m, _)| {
                            at > answer.request_seq
                                && m.get("method").is_none()
                                && m.get("id") == Some(call_id)
                        })
                })
        });
        let Some(call) = waited else { continue };
        // The same question on the call's own stream too: the server did put
        // it where it belongs, and a copy elsewhere is a duplicate
        // (`stream.no_duplicate_message`), not this rule's.
        let also_on_own = call.server_messages().any(|(_, m, _)| {
            m.get("method").and_then(Value::as_str) == Some(method) && m.get("id") == Some(id)
        });
        if also_on_own {
            continue;
        }
        judged.examined += 1;
        judged.findings.push(Finding::at(
            seq,
            format!(
                "{method} request {id} on the standalone GET stream, which request {} (tools/call) waited for: its response came after the client's answer",
                call.rpc_id().cloned().unwrap_or_default()
            ),
            "a request a call waits for on that call's own stream",
        ));
    }
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
