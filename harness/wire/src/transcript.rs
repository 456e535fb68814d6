//! The transcript: everything that crossed the wire in one run, as numbered
//! records written by one writer (the proxy's recorder).
//!
//! Stored as JSON Lines: the first line is a [`Record`] holding
//! [`WireEvent::Header`] (format name and version), then one record per line in
//! `seq` order. The format is versioned by [`TRANSCRIPT_VERSION`]; a reader
//! refuses versions it does not know.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::fault::{Fault, FaultPhase};

/// Name in the header of every transcript file.
pub const TRANSCRIPT_FORMAT: &str = "mcp-harness-transcript";
/// Version of the transcript format written by this crate: 2 records faults
/// as [`Fault`] values with their phase; version 1 (a fault's name and
/// detail) is still read, see [`crate::fault::UpgradeV1`].
pub const TRANSCRIPT_VERSION: u32 = 2;

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the transcript, from 0, strictly increasing.
    pub seq: u64,
    /// Microseconds since the transcript started (monotonic clock).
    pub at_us: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: WireEvent,
}

/// Request and response headers that matter to MCP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headers {
    /// `Mcp-Session-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_session_id: Option<String>,
    /// `MCP-Protocol-Version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_protocol_version: Option<String>,
    /// `Last-Event-ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_id: Option<String>,
    /// `Origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// `Host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `Content-Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Accept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<String>,
    /// `Mcp-Method` (2026-07-28: mirrors the body's `method`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_method: Option<String>,
    /// `Mcp-Name` (2026-07-28: mirrors `params.name` or `params.uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_name: Option<String>,
    /// `Authorization`, as its [`crate::credential::fingerprint`] (never the
    /// credential itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
}

/// The names of the headers kept in [`Headers`], lower case.
pub const RECORDED_HEADERS: [&str; 10] = [
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
    "origin",
    "host",
    "content-type",
    "accept",
    "mcp-method",
    "mcp-name",
    "authorization",
];

impl Headers {
    /// Keep `value` if `name` (any case) is one of [`RECORDED_HEADERS`]
    /// (`Authorization` as its fingerprint).
    pub fn keep(&mut self, name: &str, value: &str) {
        let slot = match name.to_ascii_lowercase().as_str() {
            "authorization" => {
                self.authorization = Some(crate::credential::fingerprint(value));
                return;
            }
            "mcp-session-id" => &mut self.mcp_session_id,
            "mcp-protocol-version" => &mut self.mcp_protocol_version,
            "last-event-id" => &mut self.last_event_id,
            "origin" => &mut self.origin,
            "host" => &mut self.host,
            "content-type" => &mut self.content_type,
            "accept" => &mut self.accept,
            "mcp-method" => &mut self.mcp_method,
            "mcp-name" => &mut self.mcp_name,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }
}

/// Valid JSON kept as text; written inline (not as a string) in JSONL.
#[derive(Debug, Clone)]
pub struct JsonText(pub String);

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match RawValue::from_string(self.0.clone()) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(|v| Self(v.to_string()))
    }
}

/// A message body as recorded. JSON is kept as its exact text (written inline
/// in the JSONL file), so a recorded event costs little more than its bytes;
/// [`Body::json`] parses it when a check needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON body.
    Json {
        /// The JSON text, validated.
        value: JsonText,
    },
    /// A body that is not JSON (kept as lossy UTF-8).
    Text {
        /// The text.
        text: String,
    },
    /// A body larger than the recording limit; only its size is kept.
    Truncated {
        /// Its size in bytes.
        bytes: u64,
    },
}

impl Body {
    /// Record `bytes`: JSON if it parses, text otherwise, truncated past `limit`.
    pub fn from_bytes(bytes: &[u8], limit: usize) -> Self {
        if bytes.is_empty() {
            Self::Empty
        } else if bytes.len() > limit {
            Self::Truncated {
                bytes: bytes.len() as u64,
            }
        } else if let Ok(value) = serde_json::from_slice::<&RawValue>(bytes) {
            Self::Json {
                value: JsonText(value.get().to_owned()),
            }
        } else {
            Self::Text {
                text: String::from_utf8_lossy(bytes).into_owned(),
            }
        }
    }

    /// A JSON body holding `value`.
    pub fn from_json(value: &Value) -> Self {
        Self::Json {
            value: JsonText(value.to_string()),
        }
    }

    /// The JSON value, parsed, if the body was JSON.
    pub fn json(&self) -> Option<Value> {
        match self {
            Self::Json { value } => serde_json::from_str(&value.0).ok(),
            _ => None,
        }
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Empty, Self::Empty) => true,
            (Self::Json { value: a }, Self::Json { value: b }) => {
                a.0 == b.0
                    || serde_json::from_str::<Value>(&a.0).ok()
                        == serde_json::from_str::<Value>(&b.0).ok()
            }
            (Self::Text { text: a }, Self::Text { text: b }) => a == b,
            (Self::Truncated { bytes: a }, Self::Truncated { bytes: b }) => a == b,
            _ => false,
        }
    }
}

/// Whether the client got an SSE event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Forwarded to the client.
    Delivered,
    /// The server sent it but a fault kept it from the client.
    Withheld,
}

/// Why a response stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The server ended it normally.
    Complete,
    /// A fault cut the client off (the connection was dropped).
    Cut,
    /// A fault ended it cleanly (after a `retry:` hint).
    Closed,
    /// The server's side failed (reset, malformed stream, oversized event).
    UpstreamError,
    /// The client went away first.
    ClientGone,
    /// Nothing arrived within the bounded wait.
    Timeout,
}

/// One thing that happened on the wire, or to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireEvent {
    /// First record of every transcript.
    Header {
        /// Always [`TRANSCRIPT_FORMAT`].
        format: String,
        /// The format version, [`TRANSCRIPT_VERSION`] when written by this crate.
        version: u32,
        /// Wall-clock start, ms since the Unix epoch (the only wall-clock value).
        started_unix_ms: u64,
        /// What was recorded (the upstream URL).
        target: String,
    },
    /// An HTTP request from the client.
    Request {
        /// Exchange number: pairs the request with its response and stream.
        exchange: u64,
        /// Client connection number (from 1, in accept order).
        conn: u64,
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// Headers that matter.
        headers: Box<Headers>,
        /// The body.
        body: Body,
    },
    /// The response head (and body, when it is not a stream).
    Response {
        /// The exchange.
        exchange: u64,
        /// HTTP status.
        status: u16,
        /// Headers that matter.
        headers: Box<Headers>,
        /// The body; [`Body::Empty`] for an SSE stream (its events follow).
        body: Body,
        /// Whether the client got this response (a fault may drop it).
        delivery: Delivery,
    },
    /// One server-sent event of an exchange's stream.
    Sse {
        /// The exchange whose stream carried it.
        exchange: u64,
        /// Position in that stream, from 1 (0: an event the proxy itself wrote,
        /// such as the `retry:` of a close-with-retry fault).
        index: u32,
        /// `id:` field.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// `event:` field.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<String>,
        /// `retry:` field, ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_ms: Option<u64>,
        /// The data, parsed as JSON when it is JSON; `None` when empty.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<Body>,
        /// Whether the client got it.
        delivery: Delivery,
    },
    /// The end of an exchange's response stream.
    StreamEnd {
        /// The exchange.
        exchange: u64,
        /// Why.
        reason: EndReason,
        /// Details (an error message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A phase of a fault the harness injected: put in force or matched to
    /// a stream (`armed`), acting (`fired`), ended (`cleared`).
    Fault {
        /// The exchange it was matched to or hit, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exchange: Option<u64>,
        /// Which phase this record marks.
        phase: FaultPhase,
        /// The declared fault this record belongs to (its records share it),
        /// for faults a scenario declared.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        /// The fault.
        fault: Fault,
        /// What exactly was done.
        detail: String,
    },
    /// A remark from the harness (a scenario step, a restart...).
    Note {
        /// The remark.
        text: String,
    },
    /// stdio: one line a peer wrote (on the server's stdin or stdout),
    /// without its newline.
    Line {
        /// Which server process (from 1; a restart starts the next).
        process: u64,
        /// Who wrote it: `client` (stdin) or `server` (stdout).
        from: Side,
        /// The line: JSON when it parses, else its text (lossy UTF-8).
        body: Body,
        /// The line was not valid UTF-8.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        invalid_utf8: bool,
        /// Whether the other peer got it (a fault may hold it back).
        delivery: Delivery,
    },
    /// stdio: one line the server wrote on its stderr.
    Stderr {
        /// Which server process.
        process: u64,
        /// The line (lossy UTF-8).
        text: String,
    },
    /// HTTP: where a server the harness started listens, read from /proc as
    /// the case starts (its sockets on its port).
    Listening {
        /// Each bound `address:port`; `0.0.0.0` or `[::]` is every interface.
        addresses: Vec<std::net::SocketAddr>,
    },
    /// stdio: something that happened to the server process.
    Process {
        /// Which server process.
        process: u64,
        /// What happened.
        event: ProcessEvent,
        /// Details: the command, the exit code or signal, how long it took.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// Who wrote a stdio line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The client, on the server's stdin.
    Client,
    /// The server, on its stdout.
    Server,
}

/// What happened to a stdio server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessEvent {
    /// It was started.
    Started,
    /// The harness closed its stdin (the first step of a shutdown).
    StdinClosed,
    /// The harness sent SIGTERM (it had not exited after its stdin closed).
    Sigterm,
    /// The harness sent SIGKILL (a kill fault, or it outlived SIGTERM).
    Sigkill,
    /// It exited (`detail`: the code or the signal).
    Exited,
    /// It closed its stdout (before or as it exited).
    StdoutClosed,
}

/// A whole transcript.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    /// The records, in `seq` order (the header first when read from a file).
    pub records: Vec<Record>,
}

/// Why a transcript file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// A line is not a record.
    #[error("transcript line {line}: {message}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The header names another format or an unknown version.
    #[error(
        "transcript format `{format}` version {version} is not supported (hint: this build reads `{TRANSCRIPT_FORMAT}` versions 1 to {TRANSCRIPT_VERSION})"
    )]
    Unsupported {
        /// The format named.
        format: String,
        /// The version named.
        version: u32,
    },
}

impl Transcript {
    /// Parse JSON Lines text (as written by the recorder).
    ///
    /// A last line cut mid-way (a recorder killed while writing, with no
    /// newline after it) is dropped, and a `note` record at the end says so;
    /// a bad line anywhere else is an error.
    pub fn from_jsonl(text: &str) -> Result<Self, TranscriptError> {
        let mut records: Vec<Record> = Vec::new();
        let mut upgrade: Option<crate::fault::UpgradeV1> = None;
        let lines: Vec<&str> = text.lines().collect();
        let unterminated = !text.is_empty() && !text.ends_with('\n');
        for (at, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed = match &mut upgrade {
                // A version 1 file: each fault record is rewritten first.
                Some(upgrade) => serde_json::from_str::<Value>(line).and_then(|mut value| {
                    upgrade.record(&mut value);
                    serde_json::from_value(value)
                }),
                None => serde_json::from_str(line),
            };
            let record: Record = match parsed {
                Ok(record) => record,
                Err(_) if unterminated && at + 1 == lines.len() && !records.is_empty() => {
                    let seq = records.last().map(|r| r.seq + 1).unwrap_or(0);
                    let at_us = records.last().map(|r| r.at_us).unwrap_or(0);
                    records.push(Record {
                        seq,
                        at_us,
                        event: WireEvent::Note {
                            text: format!(
                                "the file ends inside record line {} ({} bytes, no newline): the recording stopped mid-write; that line was left out",
                                at + 1,
                                line.len()
                            ),
                        },
                    });
                    break;
                }
                Err(e) => {
                    return Err(TranscriptError::BadLine {
                        line: at + 1,
                        message: e.to_string(),
                    });
                }
            };
            if let WireEvent::Header {
                format, version, ..
            } = &record.event
            {
                if format != TRANSCRIPT_FORMAT || !(1..=TRANSCRIPT_VERSION).contains(version) {
                    return Err(TranscriptError::Unsupported {
                        format: format.clone(),
                        version: *version,
                    });
                }
                if *version == 1 {
                    upgrade = Some(crate::fault::UpgradeV1::default());
                }
            }
            records.push(record);
        }
        Ok(Self { records })
    }

    /// Render as JSON Lines.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for record in &self.records {
            out.push_str(&serde_json::to_string(record).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// The SSE events of exchange `exchange`, in order.
    pub fn sse_of(&self, exchange: u64) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(
            move |r| matches!(&r.event, WireEvent::Sse { exchange: e, .. } if *e == exchange),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_round_trip_through_jsonl() {
        let transcript = Transcript {
            records: vec![
                Record {
                    seq: 0,
                    at_us: 0,
                    event: WireEvent::Header {
                        format: TRANSCRIPT_FORMAT.into(),
                        version: TRANSCRIPT_VERSION,
                        started_unix_ms: 1,
                        target: "http://127.0.0.1:1/mcp".into(),
                    },
                },
                Record {
                    seq: 1,
                    at_us: 5,
                    event: WireEvent::Request {
                        exchange: 1,
                        conn: 1,
                        method: "POST".into(),
                        path: "/mcp".into(),
                        headers: Box::default(),
                        body: Body::from_bytes(br#"{"jsonrpc":"2.0"}"#, 100),
                    },
                },
                Record {
                    seq: 2,
                    at_us: 9,
                    event: WireEvent::Sse {
                        exchange: 1,
                        index: 1,
                        id: Some("1-1".into()),
                        event: None,
                        retry_ms: Some(500),
                        data: None,
                        delivery: Delivery::Withheld,
                    },
                },
            ],
        };
        let text = transcript.to_jsonl();
        assert!(text.lines().nth(2).unwrap().contains(r#""kind":"sse""#));
        assert_eq!(Transcript::from_jsonl(&text).unwrap(), transcript);
    }

    #[test]
    fn unknown_versions_and_bad_lines_are_refused() {
        let future = json!({"seq": 0, "at_us": 0, "kind": "header", "format": TRANSCRIPT_FORMAT, "version": 99, "started_unix_ms": 0, "target": ""});
        assert!(matches!(
            Transcript::from_jsonl(&future.to_string()),
            Err(TranscriptError::Unsupported { version: 99, .. })
        ));
        let err = Transcript::from_jsonl("\n{\"seq\": 1}\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("transcript line 2:"), "{err}");
    }

    #[test]
    fn a_last_line_cut_mid_way_is_dropped_and_noted_but_a_bad_middle_line_is_not() {
        let header = json!({"seq": 0, "at_us": 0, "kind": "header", "format": TRANSCRIPT_FORMAT, "version": TRANSCRIPT_VERSION, "started_unix_ms": 0, "target": ""});
        let text = format!("{header}\n{{\"seq\": 1, \"at_us\": 5, \"kind\": \"no");
        let transcript = Transcript::from_jsonl(&text).unwrap();
        assert_eq!(transcript.records.len(), 2);
        assert!(matches!(
            &transcript.records[1].event,
            WireEvent::Note { text } if text.contains("mid-write")
        ));
        // The same bad line followed by a newline, or by more lines, is an error.
        assert!(Transcript::from_jsonl(&format!("{text}\n")).is_err());
        assert!(Transcript::from_jsonl(&format!("{text}\n{header}")).is_err());
    }

    #[test]
    fn bodies_are_classified_and_bounded() {
        assert_eq!(Body::from_bytes(b"", 10), Body::Empty);
        assert_eq!(Body::from_bytes(b"[1]", 10).json(), Some(json!([1])));
        assert_eq!(
            Body::from_bytes(b"hello", 10),
            Body::Text {
                text: "hello".into()
            }
        );
        assert_eq!(
            Body::from_bytes(b"0123456789ab", 10),
            Body::Truncated { bytes: 12 }
        );
    }
}
