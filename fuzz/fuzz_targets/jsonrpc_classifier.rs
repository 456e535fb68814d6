//! Fuzz the checks: build a transcript whose request bodies, response bodies
//! and SSE event data come from the input, then run `Analysis::of` and
//! `judge`. No check may panic (a panicking check is judged `Unknown`, and
//! under libFuzzer's panic hook any panic aborts), every check of the catalog
//! gets exactly one verdict, and judging is deterministic.
//!
//! Input layout: records separated by 0x1E (ASCII record separator). Each
//! record is `kind`, `flags`, then the body bytes:
//! - `kind` bits 0-1: 0 request (opens a new exchange), 1 response, 2 SSE
//!   event, 3 stream end; bits 2-3: which exchange a response, event or end
//!   belongs to (0 the latest, 1 the one before, 2 the first, 3 one never
//!   opened); bit 4: withheld instead of delivered; bits 5-7: the HTTP method
//!   (request), status (response) or end reason (stream end).
//! - `flags` pick headers (session id, protocol version, Last-Event-ID,
//!   Origin) for requests and responses, and `id:`/`retry:` for events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_harness_checks::{Analysis, Outcome, catalog, judge};
use mcp_harness_wire::{Body, Delivery, EndReason, Headers, Record, Transcript, WireEvent};

const BODY_LIMIT: usize = 64 * 1024;
const SESSIONS: [Option<&str>; 4] = [None, Some("s-1"), Some("s-2"), Some("bad id\u{7f}")];
const VERSIONS: [Option<&str>; 4] = [None, Some("2025-11-25"), Some("2026-07-28"), Some("1999-01-01")];
const METHODS: [&str; 8] = ["POST", "POST", "POST", "GET", "GET", "DELETE", "PUT", "POST"];
const STATUSES: [u16; 8] = [200, 200, 202, 400, 404, 403, 405, 500];
const REASONS: [EndReason; 8] = [
    EndReason::Complete,
    EndReason::Cut,
    EndReason::Closed,
    EndReason::UpstreamError,
    EndReason::ClientGone,
    EndReason::Timeout,
    EndReason::Complete,
    EndReason::Cut,
];

fn headers(flags: u8) -> Box<Headers> {
    Box::new(Headers {
        mcp_session_id: SESSIONS[(flags & 3) as usize].map(str::to_owned),
        mcp_protocol_version: VERSIONS[((flags >> 2) & 3) as usize].map(str::to_owned),
        last_event_id: (flags & 0x10 != 0).then(|| ((flags >> 5) & 3).to_string()),
        origin: (flags & 0x80 != 0).then(|| "https://evil.example".to_owned()),
        host: None,
        content_type: Some("application/json".into()),
        accept: None,
    })
}

fn transcript(data: &[u8]) -> Transcript {
    let mut records = Vec::new();
    let mut opened: Vec<u64> = Vec::new();
    let mut index = 0u32;
    for (seq, piece) in data.split(|&b| b == 0x1E).enumerate() {
        let (kind, flags, body) = match piece {
            [] => continue,
            [kind] => (*kind, 0, &[][..]),
            [kind, flags, body @ ..] => (*kind, *flags, body),
        };
        let exchange = match (kind >> 2) & 3 {
            0 => opened.last().copied(),
            1 => opened.iter().rev().nth(1).copied(),
            2 => opened.first().copied(),
            _ => None,
        }
        .unwrap_or(999);
        let delivery = if kind & 0x10 != 0 {
            Delivery::Withheld
        } else {
            Delivery::Delivered
        };
        let variant = (kind >> 5) as usize;
        let event = match kind & 3 {
            0 => {
                let exchange = opened.len() as u64 + 1;
                opened.push(exchange);
                index = 0;
                WireEvent::Request {
                    exchange,
                    conn: 1,
                    method: METHODS[variant].into(),
                    path: "/mcp".into(),
                    headers: headers(flags),
                    body: Body::from_bytes(body, BODY_LIMIT),
                }
            }
            1 => WireEvent::Response {
                exchange,
                status: STATUSES[variant],
                headers: headers(flags),
                body: Body::from_bytes(body, BODY_LIMIT),
                delivery,
            },
            2 => {
                index += 1;
                WireEvent::Sse {
                    exchange,
                    index,
                    id: (flags & 0x80 == 0).then(|| (flags & 7).to_string()),
                    event: None,
                    retry_ms: (flags & 0x40 != 0).then_some(1000),
                    data: (!body.is_empty()).then(|| Body::from_bytes(body, BODY_LIMIT)),
                    delivery,
                }
            }
            _ => WireEvent::StreamEnd {
                exchange,
                reason: REASONS[variant],
                detail: None,
            },
        };
        records.push(Record {
            seq: seq as u64 + 1,
            at_us: seq as u64,
            event,
        });
    }
    Transcript { records }
}

fuzz_target!(|data: &[u8]| {
    let transcript = transcript(data);
    let analysis = Analysis::of(&transcript);
    assert!(analysis.exchanges.windows(2).all(|w| w[0].id < w[1].id));
    let verdicts = judge(&transcript);
    assert_eq!(verdicts.len(), catalog().len(), "one verdict per check");
    for verdict in &verdicts {
        if let Outcome::Unknown(cause) = &verdict.outcome {
            panic!("check {} panicked: {cause}", verdict.check);
        }
    }
    assert_eq!(judge(&transcript), verdicts, "judging is not deterministic");
});
