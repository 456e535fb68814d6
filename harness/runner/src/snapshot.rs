//! Normalized transcripts for snapshots: the same behaviour always renders the
//! same text. Session ids, event ids, run ids and other volatile values are
//! replaced by stable placeholders; exchanges keep their order, and events
//! their order within a stream. Events withheld by a `cut` or a
//! `close_with_retry` are left out: both close the server's side at once, so
//! how many of the server's later events the proxy had read by then depends
//! on timing (a `partition` drains the server's stream, so its withheld events
//! are stable and shown). Over stdio, where one pipe carries every stream,
//! each run of server lines is regrouped by the request each belongs to. Pure.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use mcp_harness_wire::{Body, Delivery, FaultPhase, Transcript, WireEvent};
use serde_json::Value;

/// Keys whose values change from run to run.
const VOLATILE_KEYS: [&str; 6] = [
    "requestState",
    "taskId",
    "createdAt",
    "lastUpdatedAt",
    "created_ms",
    "updated_ms",
];

#[derive(Default)]
struct Placeholders {
    sessions: HashMap<String, String>,
    events: HashMap<String, String>,
}

impl Placeholders {
    fn session(&mut self, id: &str) -> String {
        let next = self.sessions.len() + 1;
        self.sessions
            .entry(id.to_owned())
            .or_insert_with(|| format!("S{next}"))
            .clone()
    }

    fn event(&mut self, id: &str) -> String {
        let next = self.events.len() + 1;
        self.events
            .entry(id.to_owned())
            .or_insert_with(|| format!("E{next}"))
            .clone()
    }
}

/// Replace run ids, UUIDs and long hex strings inside `text`.
fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let run = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit() || **b == b'-')
            .count();
        let token = &text[at..at + run];
        let hex = token.chars().filter(char::is_ascii_hexdigit).count();
        let bounded = (at == 0 || !bytes[at - 1].is_ascii_alphanumeric())
            && bytes
                .get(at + run)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
        if run > 0 && bounded && hex >= 24 {
            out.push_str("<id>");
            at += run;
        } else {
            let ch = text[at..].chars().next().unwrap_or(' ');
            out.push(ch);
            at += ch.len_utf8();
        }
    }
    out
}

fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if VOLATILE_KEYS.contains(&k.as_str()) {
                        Value::String("<redacted>".into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(s) => Value::String(redact_text(s)),
        other => other.clone(),
    }
}

fn body_text(body: &Body) -> String {
    match body {
        Body::Empty => String::new(),
        Body::Json { .. } => body
            .json()
            .map(|v| redact(&v).to_string())
            .unwrap_or_default(),
        Body::Text { text } => format!("text {:?}", redact_text(text)),
        Body::Truncated { bytes } => format!("<{bytes} bytes>"),
    }
}

/// The client's requests on a stdio transcript, in the order sent: what a
/// server line can belong to.
#[derive(Default)]
struct ClientRequests {
    /// Request id (as JSON text) -> position.
    ids: HashMap<String, usize>,
    /// Progress token (as JSON text) -> position.
    tokens: HashMap<String, usize>,
    sent: usize,
}

impl ClientRequests {
    fn sent(&mut self, message: &Value) {
        let (Some(_), Some(id)) = (message.get("method"), message.get("id")) else {
            return;
        };
        self.ids.insert(id.to_string(), self.sent);
        if let Some(token) = message.pointer("/params/_meta/progressToken") {
            self.tokens.insert(token.to_string(), self.sent);
        }
        self.sent += 1;
    }

    /// A response by its id, progress by its token, a subscription's
    /// notification by its subscription id (the id of its listen request).
    fn of_server_message(&self, message: &Value) -> Option<usize> {
        if message.get("method").is_none() {
            return self.ids.get(&message.get("id")?.to_string()).copied();
        }
        if let Some(token) = message.pointer("/params/progressToken") {
            return self.tokens.get(&token.to_string()).copied();
        }
        let meta = message.pointer("/params/_meta")?;
        if let Some(subscription) = meta.get("io.modelcontextprotocol/subscriptionId") {
            return self.ids.get(&subscription.to_string()).copied();
        }
        self.tokens
            .get(&meta.get("progressToken")?.to_string())
            .copied()
    }
}

/// A stdio transcript's lines, where each run of consecutive server lines
/// that belong to client requests is regrouped by request (in the order the
/// requests were sent), each request's lines in their own order; every other
/// line stays where it was. One pipe carries every stream, and how two
/// streams interleave in time (a subscription's notification and a call's
/// progress) must not show, as over HTTP, where each stream is its own
/// exchange.
fn server_runs_by_request(lines: Vec<(String, Option<usize>)>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut run: Vec<(String, usize)> = Vec::new();
    let flush = |run: &mut Vec<(String, usize)>, out: &mut Vec<String>| {
        // Stable: each request's lines keep their order.
        run.sort_by_key(|(_, request)| *request);
        out.extend(run.drain(..).map(|(line, _)| line));
    };
    for (line, belongs) in lines {
        match belongs {
            Some(request) => run.push((line, request)),
            None => {
                flush(&mut run, &mut out);
                out.push(line);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Render `transcript` as stable text.
pub fn normalize(transcript: &Transcript) -> String {
    let mut names = Placeholders::default();
    // Name event ids stream by stream (exchanges in request order, events in
    // stream order), so that how two streams interleave in time does not
    // renumber them.
    let closed: HashSet<u64> = transcript
        .records
        .iter()
        .filter_map(|r| match &r.event {
            // A stream whose server side the proxy closed: what the server
            // had sent by then is a matter of timing.
            WireEvent::Fault {
                exchange: Some(exchange),
                phase: FaultPhase::Fired,
                fault,
                ..
            } if fault.ends_stream() && fault.felt_by_server() => Some(*exchange),
            _ => None,
        })
        .collect();
    let timing_dependent = |exchange: &u64, delivery: &Delivery| {
        *delivery == Delivery::Withheld && closed.contains(exchange)
    };
    let mut requests: Vec<u64> = Vec::new();
    let mut ids_of: HashMap<u64, Vec<&str>> = HashMap::new();
    for record in &transcript.records {
        match &record.event {
            WireEvent::Request { exchange, .. } => requests.push(*exchange),
            WireEvent::Sse {
                exchange,
                id: Some(id),
                delivery,
                ..
            } if !timing_dependent(exchange, delivery) => {
                ids_of.entry(*exchange).or_default().push(id)
            }
            _ => {}
        }
    }
    for exchange in &requests {
        for id in ids_of.get(exchange).into_iter().flatten() {
            names.event(id);
        }
    }
    let mut order: Vec<u64> = Vec::new();
    let mut lines: HashMap<u64, Vec<String>> = HashMap::new();
    let mut general: Vec<String> = Vec::new();
    // A stdio transcript: its lines, process events and notes, in order, each
    // server line with the client request it belongs to, if it belongs to one
    // (see server_runs_by_request).
    let mut stdio: Vec<(String, Option<usize>)> = Vec::new();
    let mut requests_of_client = ClientRequests::default();
    let is_stdio = transcript
        .records
        .iter()
        .any(|r| matches!(r.event, WireEvent::Line { .. } | WireEvent::Process { .. }));
    for record in &transcript.records {
        match &record.event {
            WireEvent::Request {
                exchange,
                method,
                headers,
                body,
                ..
            } => {
                order.push(*exchange);
                let mut line = method.to_string();
                if let Some(session) = &headers.mcp_session_id {
                    let _ = write!(line, " session={}", names.session(session));
                }
                if let Some(last) = &headers.last_event_id {
                    let _ = write!(line, " last-event-id={}", names.event(last));
                }
                if let Some(origin) = &headers.origin {
                    let _ = write!(line, " origin={origin}");
                }
                if let Some(version) = &headers.mcp_protocol_version {
                    let _ = write!(line, " version={version}");
                }
                let body = body_text(body);
                if !body.is_empty() {
                    let _ = write!(line, " {body}");
                }
                lines.entry(*exchange).or_default().push(line);
            }
            WireEvent::Response {
                exchange,
                status,
                headers,
                body,
                delivery,
            } => {
                let mut line = format!("  <- {status}");
                if let Some(session) = &headers.mcp_session_id {
                    let _ = write!(line, " session={}", names.session(session));
                }
                if *delivery == Delivery::Withheld {
                    line.push_str(" (withheld)");
                }
                let body = body_text(body);
                if !body.is_empty() {
                    let _ = write!(line, " {body}");
                }
                lines.entry(*exchange).or_default().push(line);
            }
            WireEvent::Sse {
                exchange,
                id,
                retry_ms,
                data,
                delivery,
                ..
            } => {
                if timing_dependent(exchange, delivery) {
                    continue;
                }
                let mut line = String::from("  event");
                if let Some(id) = id {
                    let _ = write!(line, " {}", names.event(id));
                }
                if *delivery == Delivery::Withheld {
                    line.push_str(" (withheld)");
                }
                if retry_ms.is_some() {
                    line.push_str(" retry");
                }
                match data {
                    Some(body) => {
                        let _ = write!(line, " {}", body_text(body));
                    }
                    None => line.push_str(" (empty)"),
                }
                lines.entry(*exchange).or_default().push(line);
            }
            WireEvent::StreamEnd {
                exchange, reason, ..
            } => {
                lines
                    .entry(*exchange)
                    .or_default()
                    .push(format!("  end {reason:?}"));
            }
            WireEvent::Fault {
                exchange: Some(exchange),
                phase,
                fault,
                ..
            } => {
                lines
                    .entry(*exchange)
                    .or_default()
                    .push(format!("  fault {fault} {}", phase.name()));
            }
            WireEvent::Fault {
                exchange: None,
                phase,
                fault,
                detail,
                ..
            } => {
                // A declared fault says what it is armed for (its selector,
                // or the call and the count it waits for).
                let line = match phase {
                    FaultPhase::Armed => format!("fault {fault} {detail}"),
                    _ => format!("fault {fault} {}", phase.name()),
                };
                if is_stdio {
                    stdio.push((line, None));
                } else {
                    general.push(line);
                }
            }
            WireEvent::Note { text } if is_stdio => {
                stdio.push((format!("note {}", redact_text(text)), None))
            }
            WireEvent::Note { text } => general.push(format!("note {}", redact_text(text))),
            // Where a started server listens depends on the port it was given.
            WireEvent::Header { .. } | WireEvent::Listening { .. } => {}
            WireEvent::Line {
                process,
                from,
                body,
                delivery,
                ..
            } => {
                let arrow = match from {
                    mcp_harness_wire::Side::Client => "->",
                    mcp_harness_wire::Side::Server => "<-",
                };
                let withheld = if *delivery == Delivery::Withheld {
                    " (withheld)"
                } else {
                    ""
                };
                let belongs = match (from, body.json()) {
                    (mcp_harness_wire::Side::Client, Some(message)) => {
                        requests_of_client.sent(&message);
                        None
                    }
                    (mcp_harness_wire::Side::Server, Some(message)) => {
                        requests_of_client.of_server_message(&message)
                    }
                    _ => None,
                };
                stdio.push((
                    format!("p{process} {arrow}{withheld} {}", body_text(body)),
                    belongs,
                ));
            }
            // stderr is free text (timestamps, paths): counted by the checks, not shown.
            WireEvent::Stderr { .. } => {}
            WireEvent::Process {
                process,
                event,
                detail,
            } => {
                // The exit's code or signal stays; how long it took does not.
                let detail = match event {
                    mcp_harness_wire::ProcessEvent::Exited => detail
                        .as_deref()
                        .and_then(|d| d.split(", ").next())
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                stdio.push((format!("p{process} {event:?}{detail}"), None));
            }
        }
    }
    let mut out = String::new();
    for line in general.into_iter().chain(server_runs_by_request(stdio)) {
        out.push_str(&line);
        out.push('\n');
    }
    for (n, exchange) in order.iter().enumerate() {
        let _ = write!(out, "#{} ", n + 1);
        for line in lines.remove(exchange).unwrap_or_default() {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Write each case's normalized transcript as an insta snapshot in `dir`:
/// unchanged ones are left alone, new and changed ones are written as `NAME.snap.new`,
/// for `cargo insta review`. Returns how many are new or changed.
pub fn write_snapshots(
    dir: &std::path::Path,
    cases: &[crate::run::CaseResult],
) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut changed = 0;
    for case in cases.iter().filter(|c| c.skipped.is_none()) {
        let name = case.name().replace('/', "__");
        let body = normalize(&case.transcript);
        let file = format!("---\nsource: mcp-harness run\nexpression: {name}\n---\n{body}");
        let accepted = dir.join(format!("{name}.snap"));
        let same = std::fs::read_to_string(&accepted)
            .ok()
            .and_then(|old| {
                old.splitn(3, "---\n")
                    .nth(2)
                    .map(|b| b.trim_end() == body.trim_end())
            })
            .unwrap_or(false);
        let pending = dir.join(format!("{name}.snap.new"));
        if same {
            let _ = std::fs::remove_file(&pending);
        } else {
            std::fs::write(&pending, file)?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_values_are_replaced() {
        assert_eq!(
            redact_text("harness://runs/0123456789abcdef0123456789abcdef done"),
            "harness://runs/<id> done"
        );
        assert_eq!(
            redact_text("session 9b2f6c1e-4a1b-4c2d-8e3f-0123456789ab ok"),
            "session <id> ok"
        );
        assert_eq!(redact_text("price 1200 and cafe"), "price 1200 and cafe");
        let value = serde_json::json!({"requestState": "rs1.abc", "text": "x"});
        assert_eq!(
            redact(&value),
            serde_json::json!({"requestState": "<redacted>", "text": "x"})
        );
    }

    /// A stdio transcript of `lines` (client lines start with `>`).
    fn stdio(lines: &[&str]) -> Transcript {
        use mcp_harness_wire::{Record, Side};
        let records = lines
            .iter()
            .enumerate()
            .map(|(seq, line)| {
                let (from, text) = match line.strip_prefix('>') {
                    Some(text) => (Side::Client, text),
                    None => (Side::Server, *line),
                };
                Record {
                    seq: seq as u64,
                    at_us: seq as u64,
                    event: WireEvent::Line {
                        process: 1,
                        from,
                        body: Body::from_bytes(text.as_bytes(), 1 << 20),
                        invalid_utf8: false,
                        delivery: Delivery::Delivered,
                    },
                }
            })
            .collect();
        Transcript { records }
    }

    const LISTEN: &str = r#">{"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{}}"#;
    const CALL: &str = r#">{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"p","_meta":{"progressToken":"t"}}}"#;
    const CHANGED: &str = r#"{"jsonrpc":"2.0","method":"notifications/resources/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":2}}}"#;
    const PROGRESS_1: &str = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}"#;
    const PROGRESS_2: &str = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":2}}"#;
    const DONE: &str = r#"{"jsonrpc":"2.0","id":3,"result":{"content":[]}}"#;
    const LOG: &str = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#;

    #[test]
    fn how_two_stdio_streams_interleave_does_not_show() {
        let first = normalize(&stdio(&[
            LISTEN, CALL, CHANGED, PROGRESS_1, PROGRESS_2, DONE,
        ]));
        for order in [
            [PROGRESS_1, CHANGED, PROGRESS_2, DONE],
            [PROGRESS_1, PROGRESS_2, DONE, CHANGED],
        ] {
            let mut lines = vec![LISTEN, CALL];
            lines.extend(order);
            assert_eq!(normalize(&stdio(&lines)), first);
        }
        // Within a stream, the order shows.
        let swapped = normalize(&stdio(&[
            LISTEN, CALL, CHANGED, PROGRESS_2, PROGRESS_1, DONE,
        ]));
        assert_ne!(swapped, first);
    }

    #[test]
    fn a_stdio_line_of_no_request_stays_where_it_was() {
        let before = normalize(&stdio(&[CALL, LOG, PROGRESS_1, DONE]));
        let after = normalize(&stdio(&[CALL, PROGRESS_1, LOG, DONE]));
        assert_ne!(before, after);
        assert!(before.find("notifications/message") < before.find("notifications/progress"));
    }
}
