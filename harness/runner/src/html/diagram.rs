//! The sequence diagram of one case, as data: a row per transcript record
//! (an arrow between the client, proxy and server lanes, a mark on one lane,
//! or a fault drawn across them), the bands of HTTP exchanges and stdio
//! processes, replays linked to the first sending of their event, and the
//! findings pinned at their records. Pure; [`super::svg`] draws it.

use std::collections::{BTreeMap, HashMap};

use mcp_harness_checks::{Outcome, Verdict};
use mcp_harness_wire::{
    Delivery, EndReason, Fault, FaultPhase, ProcessEvent, Record, Side, Transcript, WireEvent,
};

use super::label;

/// A vertical lane of the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The client (the harness's scripted client, or the client under test).
    Client,
    /// The proxy (or, over stdio, the harness's pipes) that recorded the wire.
    Proxy,
    /// The server (the target, or the harness's scripted server).
    Server,
}

/// How a row is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A message from one lane to another; a withheld one stops at the proxy.
    Arrow {
        /// Who sent it.
        from: Lane,
        /// Where it ended.
        to: Lane,
    },
    /// Something that happened on one lane (a stream's end, a process event).
    Mark {
        /// The lane.
        at: Lane,
    },
    /// A fault, a kill or a harness note, drawn across every lane.
    Across,
}

/// What kind of thing a row shows: its CSS class, and the filter words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP request or a client's stdio line.
    Request,
    /// An HTTP response head.
    Response,
    /// An SSE event or a server's stdio line.
    Event,
    /// The end of a response stream.
    End,
    /// A fault the harness injected.
    Fault,
    /// A kill (SIGKILL of the server).
    Kill,
    /// A harness note.
    Note,
    /// A line on the server's stderr.
    Stderr,
    /// A server process event.
    Process,
}

impl Kind {
    /// The CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Self::Request => "req",
            Self::Response => "res",
            Self::Event => "evt",
            Self::End => "end",
            Self::Fault => "fault",
            Self::Kill => "kill",
            Self::Note => "note",
            Self::Stderr => "stderr",
            Self::Process => "proc",
        }
    }
}

/// How a message's delivery reads in the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Sent and delivered (or not a message).
    Plain,
    /// A fault kept it from its peer, and it was never delivered later.
    NeverDelivered,
    /// A fault kept it from its peer; a replay delivered it later.
    WithheldThenReplayed,
    /// A replay of an event first sent earlier (on another stream).
    Replay,
    /// Delivered again: the client had already been given this event.
    Repeat,
    /// A replay of another session's event (a check pinned it as a leak).
    Foreign,
    /// A stream that ended badly (cut, failed, timed out).
    Broken,
}

impl Fate {
    /// The CSS class (empty for a plain row).
    pub fn class(self) -> &'static str {
        match self {
            Self::Plain => "",
            Self::NeverDelivered => "lost",
            Self::WithheldThenReplayed => "held",
            Self::Replay => "replay",
            Self::Repeat => "repeat",
            Self::Foreign => "foreign",
            Self::Broken => "broken",
        }
    }
}

/// A finding shown at its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The check that found it.
    pub check: String,
    /// `fail` or `warn`.
    pub outcome: &'static str,
    /// Index of its group in the case's finding list.
    pub group: usize,
}

/// One row: one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The record's `seq`.
    pub seq: u64,
    /// Its time, µs since the transcript started.
    pub at_us: u64,
    /// How it is drawn.
    pub shape: Shape,
    /// What it is.
    pub kind: Kind,
    /// What happened to it.
    pub fate: Fate,
    /// The words on it.
    pub label: String,
    /// The whole record, clipped (the tooltip and the detail panel).
    pub detail: String,
    /// The band it belongs to (an exchange, or a stdio process).
    pub band: Option<u64>,
    /// The row of the event's first sending, for a replay or a repeat.
    pub first_sent: Option<u64>,
    /// Findings at this record.
    pub pins: Vec<Pin>,
    /// The SSE event's `id:`, if any.
    pub event_id: Option<String>,
    /// It happened while the network was down (between the network fault's
    /// fired and cleared records).
    pub network_down: bool,
    /// The fault it records, and which phase.
    pub fault: Option<(Fault, FaultPhase)>,
}

/// An HTTP exchange (or a stdio process) from its first row to its last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// The exchange (or process) number.
    pub number: u64,
    /// Its column in the gutter (concurrent bands get different ones).
    pub column: usize,
    /// Index of its first row.
    pub first: usize,
    /// Index of its last row.
    pub last: usize,
    /// What it was, in a few words (its tooltip).
    pub title: String,
}

/// A group of like findings (same check, same expectation), in order of
/// first appearance: what the case's finding list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingGroup {
    /// The check.
    pub check: String,
    /// `fail`, `warn` or `expected` (a baseline's expected failure).
    pub outcome: &'static str,
    /// MUST or SHOULD.
    pub level: &'static str,
    /// The spec section.
    pub citation: String,
    /// What was seen, the first time.
    pub observed: String,
    /// What the rule wants.
    pub expected: String,
    /// The records (as found, in order).
    pub records: Vec<u64>,
    /// How many findings the group holds (some have no record).
    pub count: usize,
}

/// The diagram of one case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagram {
    /// A row per drawn record, in `seq` order.
    pub rows: Vec<Row>,
    /// The bands.
    pub bands: Vec<Band>,
    /// Columns the bands need.
    pub columns: usize,
    /// The case's findings, grouped.
    pub findings: Vec<FindingGroup>,
    /// The transcript is of stdio (pipes, not a proxy).
    pub stdio: bool,
}

/// Characters of a record kept for its tooltip.
pub const DETAIL_CHARS: usize = 600;

/// Group the broken rules of `verdicts` (`expected` says whether a failure
/// of a check is a baseline's expected one).
pub fn finding_groups(verdicts: &[Verdict], expected: &dyn Fn(&str) -> bool) -> Vec<FindingGroup> {
    let mut groups: Vec<FindingGroup> = Vec::new();
    for verdict in verdicts {
        let outcome = match verdict.outcome {
            Outcome::Fail if expected(&verdict.check) => "expected",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            _ => continue,
        };
        for finding in &verdict.findings {
            let at = groups
                .iter()
                .position(|g| g.check == verdict.check && g.expected == finding.expected);
            let group = match at {
                Some(at) => &mut groups[at],
                None => {
                    groups.push(FindingGroup {
                        check: verdict.check.clone(),
                        outcome,
                        level: verdict.level.name(),
                        citation: verdict.citation.clone(),
                        observed: finding.observed.clone(),
                        expected: finding.expected.clone(),
                        records: Vec::new(),
                        count: 0,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            group.count += 1;
            group.records.extend(finding.seq);
        }
    }
    groups
}

/// The diagram of `transcript` with `findings` pinned at their records.
pub fn diagram(transcript: &Transcript, findings: Vec<FindingGroup>) -> Diagram {
    let stdio = transcript.records.iter().any(|r| {
        matches!(
            r.event,
            WireEvent::Line { .. } | WireEvent::Stderr { .. } | WireEvent::Process { .. }
        )
    });
    let session_of = sessions_of_exchanges(transcript);
    let mut rows: Vec<Row> = Vec::new();
    // (session, event id) -> (row index of its first sending, delivered?)
    let mut sent: HashMap<(Option<&str>, &str), (usize, bool)> = HashMap::new();
    let mut network_down = false;
    for record in &transcript.records {
        let Some(mut row) = row_of(record) else {
            continue;
        };
        if let WireEvent::Fault {
            fault: Fault::Network,
            phase,
            ..
        } = &record.event
        {
            match phase {
                FaultPhase::Fired => network_down = true,
                FaultPhase::Cleared => network_down = false,
                FaultPhase::Armed => {}
            }
        }
        row.network_down = network_down;
        if let WireEvent::Sse {
            exchange,
            id: Some(id),
            delivery,
            ..
        } = &record.event
        {
            let key = (session_of.get(exchange).copied().flatten(), id.as_str());
            let delivered = *delivery == Delivery::Delivered;
            match sent.get(&key).copied() {
                Some((first, was_delivered)) if rows[first].band != row.band => {
                    row.first_sent = Some(rows[first].seq);
                    row.fate = if was_delivered && delivered {
                        Fate::Repeat
                    } else {
                        Fate::Replay
                    };
                    if delivered && !was_delivered {
                        rows[first].fate = Fate::WithheldThenReplayed;
                        sent.insert(key, (first, true));
                    }
                }
                Some(_) => {}
                None => {
                    sent.insert(key, (rows.len(), delivered));
                }
            }
        }
        rows.push(row);
    }
    let by_seq: BTreeMap<u64, usize> = rows.iter().enumerate().map(|(i, r)| (r.seq, i)).collect();
    for (group, finding) in findings.iter().enumerate() {
        for seq in &finding.records {
            // A finding at a record not drawn (the header) pins the next one.
            let Some((_, &at)) = by_seq.range(seq..).next() else {
                continue;
            };
            let pin = Pin {
                check: finding.check.clone(),
                outcome: finding.outcome,
                group,
            };
            if !rows[at].pins.contains(&pin) {
                rows[at].pins.push(pin);
            }
        }
    }
    link_pinned_replays(&mut rows, &session_of);
    let (bands, columns) = bands_of(&rows, transcript);
    Diagram {
        rows,
        bands,
        columns,
        findings,
        stdio,
    }
}

/// Checks whose findings at an SSE event mean it was sent before, elsewhere.
const REPLAY_CHECKS: [&str; 3] = [
    "stream.replay_own_session_only",
    "stream.replay_same_stream_only",
    "stream.no_duplicate_message",
];

/// Links an event a replay check pinned, and that [`diagram`] did not link
/// (its first sending was in another session), to that first sending.
fn link_pinned_replays(rows: &mut [Row], session_of: &HashMap<u64, Option<&str>>) {
    let session = |row: &Row| row.band.and_then(|b| session_of.get(&b).copied().flatten());
    for at in 0..rows.len() {
        let pinned = rows[at]
            .pins
            .iter()
            .any(|p| REPLAY_CHECKS.contains(&p.check.as_str()));
        let Some(id) = rows[at].event_id.as_deref() else {
            continue;
        };
        if !pinned || rows[at].first_sent.is_some() {
            continue;
        }
        let Some(first) = rows[..at]
            .iter()
            .position(|r| r.event_id.as_deref() == Some(id) && r.band != rows[at].band)
        else {
            continue;
        };
        let foreign = session(&rows[first]) != session(&rows[at]);
        rows[at].first_sent = Some(rows[first].seq);
        rows[at].fate = if foreign { Fate::Foreign } else { Fate::Repeat };
    }
}

/// The session each exchange's request named (replays are per session).
fn sessions_of_exchanges(transcript: &Transcript) -> HashMap<u64, Option<&str>> {
    transcript
        .records
        .iter()
        .filter_map(|r| match &r.event {
            WireEvent::Request {
                exchange, headers, ..
            } => Some((*exchange, headers.mcp_session_id.as_deref())),
            _ => None,
        })
        .collect()
}

/// The record as JSON, clipped, for its tooltip. Keys are sorted (through a
/// `Value`), so a record drawn as it is recorded and one read back from its
/// file (which sorts them) read the same.
fn detail_of(record: &Record) -> String {
    let text = serde_json::to_value(record)
        .map(|v| v.to_string())
        .unwrap_or_default();
    label::clip(&text, DETAIL_CHARS)
}

/// The row of one record (`None`: the header, which is not drawn).
fn row_of(record: &Record) -> Option<Row> {
    use Lane::{Client, Proxy, Server};
    let row = |shape, kind, label: String, band| Row {
        seq: record.seq,
        at_us: record.at_us,
        shape,
        kind,
        fate: Fate::Plain,
        label,
        detail: detail_of(record),
        band,
        first_sent: None,
        pins: Vec::new(),
        event_id: None,
        network_down: false,
        fault: None,
    };
    let delivered_to = |delivery: &Delivery, to: Lane| match delivery {
        Delivery::Delivered => to,
        Delivery::Withheld => Proxy,
    };
    let withheld = |delivery: &Delivery| *delivery == Delivery::Withheld;
    let mut out = match &record.event {
        WireEvent::Header { .. } => return None,
        WireEvent::Request {
            exchange,
            method,
            headers,
            body,
            ..
        } => row(
            Shape::Arrow {
                from: Client,
                to: Server,
            },
            Kind::Request,
            label::request(method, headers, body),
            Some(*exchange),
        ),
        WireEvent::Response {
            exchange,
            status,
            headers,
            body,
            delivery,
        } => {
            let mut r = row(
                Shape::Arrow {
                    from: Server,
                    to: delivered_to(delivery, Client),
                },
                Kind::Response,
                label::response(*status, headers, body),
                Some(*exchange),
            );
            if withheld(delivery) {
                r.fate = Fate::NeverDelivered;
            }
            r
        }
        WireEvent::Sse {
            exchange,
            index,
            id,
            retry_ms,
            data,
            delivery,
            ..
        } => {
            let mut r = row(
                Shape::Arrow {
                    from: if *index == 0 { Proxy } else { Server },
                    to: delivered_to(delivery, Client),
                },
                Kind::Event,
                label::sse(*index, id.as_deref(), *retry_ms, data.as_ref()),
                Some(*exchange),
            );
            if withheld(delivery) {
                r.fate = Fate::NeverDelivered;
            }
            r.event_id = id.clone();
            r
        }
        WireEvent::StreamEnd {
            exchange,
            reason,
            detail,
        } => {
            let word = match reason {
                EndReason::Complete => "complete",
                EndReason::Cut => "cut",
                EndReason::Closed => "closed by the proxy",
                EndReason::UpstreamError => "server side failed",
                EndReason::ClientGone => "client went away",
                EndReason::Timeout => "timed out",
            };
            let detail = detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let mut r = row(
                Shape::Mark { at: Proxy },
                Kind::End,
                label::clip(&format!("stream end: {word}{detail}"), label::LABEL_CHARS),
                Some(*exchange),
            );
            if !matches!(reason, EndReason::Complete | EndReason::ClientGone) {
                r.fate = Fate::Broken;
            }
            r
        }
        WireEvent::Fault {
            exchange,
            phase,
            fault,
            detail,
            ..
        } => {
            let kind = if fault.kills_server() && *phase == FaultPhase::Fired {
                Kind::Kill
            } else {
                Kind::Fault
            };
            let on = exchange
                .map(|e| format!(" (exchange {e})"))
                .unwrap_or_default();
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            };
            let mut r = row(
                Shape::Across,
                kind,
                label::clip(&format!("{fault} {}{on}{detail}", phase.name()), 96),
                None,
            );
            r.fault = Some((fault.clone(), *phase));
            r
        }
        WireEvent::Note { text } => row(Shape::Across, Kind::Note, label::clip(text, 96), None),
        WireEvent::Listening { addresses } => {
            let addresses: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            row(
                Shape::Across,
                Kind::Note,
                label::clip(&format!("server listens on {}", addresses.join(", ")), 96),
                None,
            )
        }
        WireEvent::Line {
            process,
            from,
            body,
            delivery,
            ..
        } => {
            let (from, to) = match from {
                Side::Client => (Client, delivered_to(delivery, Server)),
                Side::Server => (Server, delivered_to(delivery, Client)),
            };
            let kind = if from == Client {
                Kind::Request
            } else {
                Kind::Event
            };
            let words = label::body(body);
            let mut r = row(
                Shape::Arrow { from, to },
                kind,
                label::clip(
                    if words.is_empty() {
                        "empty line"
                    } else {
                        &words
                    },
                    label::LABEL_CHARS,
                ),
                Some(*process),
            );
            if withheld(delivery) {
                r.fate = Fate::NeverDelivered;
            }
            r
        }
        WireEvent::Stderr { process, text } => row(
            Shape::Mark { at: Server },
            Kind::Stderr,
            label::clip(&format!("stderr: {text}"), label::LABEL_CHARS),
            Some(*process),
        ),
        WireEvent::Process {
            process,
            event,
            detail,
        } => {
            let kind = if *event == ProcessEvent::Sigkill {
                Kind::Kill
            } else {
                Kind::Process
            };
            row(
                Shape::Mark { at: Server },
                kind,
                label::process(*process, *event, detail.as_deref()),
                Some(*process),
            )
        }
    };
    out.label = out.label.replace(['\n', '\r'], " ");
    Some(out)
}

/// The bands of `rows` and the gutter columns they need: a band spans its
/// exchange's (or process's) first to last row, and takes the first column
/// free at its start.
fn bands_of(rows: &[Row], transcript: &Transcript) -> (Vec<Band>, usize) {
    let mut spans: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(number) = row.band {
            spans
                .entry(number)
                .and_modify(|span| span.1 = i)
                .or_insert((i, i));
        }
    }
    let titles = band_titles(transcript);
    let mut ordered: Vec<(u64, usize, usize)> =
        spans.into_iter().map(|(n, (a, b))| (n, a, b)).collect();
    ordered.sort_by_key(|&(n, first, _)| (first, n));
    // The last row of the band in each column.
    let mut busy_until: Vec<usize> = Vec::new();
    let mut bands = Vec::new();
    for (number, first, last) in ordered {
        let column = match busy_until.iter().position(|&end| end < first) {
            Some(column) => column,
            None => {
                busy_until.push(0);
                busy_until.len() - 1
            }
        };
        busy_until[column] = last;
        bands.push(Band {
            number,
            column,
            first,
            last,
            title: titles.get(&number).cloned().unwrap_or_default(),
        });
    }
    (bands, busy_until.len())
}

/// A tooltip per exchange (its request) or stdio process.
fn band_titles(transcript: &Transcript) -> HashMap<u64, String> {
    let mut titles = HashMap::new();
    for record in &transcript.records {
        match &record.event {
            WireEvent::Request {
                exchange,
                conn,
                method,
                headers,
                body,
                ..
            } => {
                titles.insert(
                    *exchange,
                    format!(
                        "exchange {exchange} on connection {conn}: {}",
                        label::request(method, headers, body)
                    ),
                );
            }
            WireEvent::Process { process, .. } => {
                titles
                    .entry(*process)
                    .or_insert_with(|| format!("server process {process}"));
            }
            _ => {}
        }
    }
    titles
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_harness_wire::{Body, Headers};
    use serde_json::json;

    fn record(seq: u64, event: WireEvent) -> Record {
        Record {
            seq,
            at_us: seq * 1000,
            event,
        }
    }

    fn sse(seq: u64, exchange: u64, id: &str, delivery: Delivery) -> Record {
        record(
            seq,
            WireEvent::Sse {
                exchange,
                index: 1,
                id: Some(id.into()),
                event: None,
                retry_ms: None,
                data: Some(Body::from_json(
                    &json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1,"progressToken":"t"}}),
                )),
                delivery,
            },
        )
    }

    fn request(seq: u64, exchange: u64) -> Record {
        record(
            seq,
            WireEvent::Request {
                exchange,
                conn: 1,
                method: "GET".into(),
                path: "/mcp".into(),
                headers: Box::new(Headers::default()),
                body: Body::Empty,
            },
        )
    }

    #[test]
    fn replays_link_to_the_first_sending_and_repeats_are_told_apart() {
        let transcript = Transcript {
            records: vec![
                request(1, 1),
                sse(2, 1, "a", Delivery::Delivered),
                sse(3, 1, "b", Delivery::Withheld),
                sse(4, 1, "c", Delivery::Withheld),
                request(5, 2),
                sse(6, 2, "a", Delivery::Delivered),
                sse(7, 2, "b", Delivery::Delivered),
            ],
        };
        let d = diagram(&transcript, Vec::new());
        let fate = |seq: u64| d.rows.iter().find(|r| r.seq == seq).unwrap().fate;
        assert_eq!(fate(6), Fate::Repeat);
        assert_eq!(fate(7), Fate::Replay);
        assert_eq!(fate(3), Fate::WithheldThenReplayed);
        assert_eq!(fate(4), Fate::NeverDelivered);
        assert_eq!(d.rows[6].first_sent, Some(3));
        // Withheld events end at the proxy.
        assert_eq!(
            d.rows[3].shape,
            Shape::Arrow {
                from: Lane::Server,
                to: Lane::Proxy
            }
        );
    }

    #[test]
    fn overlapping_exchanges_get_their_own_columns_and_findings_pin_their_rows() {
        let transcript = Transcript {
            records: vec![
                request(1, 1),
                request(2, 2),
                sse(3, 1, "a", Delivery::Delivered),
                sse(4, 2, "b", Delivery::Delivered),
                request(5, 3),
            ],
        };
        let groups = vec![FindingGroup {
            check: "x.y".into(),
            outcome: "fail",
            level: "MUST",
            citation: "c".into(),
            observed: "o".into(),
            expected: "e".into(),
            records: vec![4, 0],
            count: 2,
        }];
        let d = diagram(&transcript, groups);
        let columns: Vec<(u64, usize)> = d.bands.iter().map(|b| (b.number, b.column)).collect();
        assert_eq!(columns, vec![(1, 0), (2, 1), (3, 0)]);
        assert_eq!(d.columns, 2);
        assert_eq!(d.rows[3].pins.len(), 1);
        // seq 0 (the header, not drawn) pins the first row.
        assert_eq!(d.rows[0].pins.len(), 1);
    }

    #[test]
    fn rows_while_the_network_is_down_are_marked_and_empty_details_add_no_colon() {
        let fault = |seq: u64, phase: FaultPhase| {
            record(
                seq,
                WireEvent::Fault {
                    exchange: None,
                    phase,
                    id: None,
                    fault: Fault::Network,
                    detail: String::new(),
                },
            )
        };
        let transcript = Transcript {
            records: vec![
                request(1, 1),
                fault(2, FaultPhase::Fired),
                request(3, 2),
                fault(4, FaultPhase::Cleared),
                request(5, 3),
            ],
        };
        let d = diagram(&transcript, Vec::new());
        let down: Vec<bool> = d.rows.iter().map(|r| r.network_down).collect();
        assert_eq!(down, vec![false, true, true, false, false]);
        assert_eq!(d.rows[1].label, "network_down fired");
    }
}
