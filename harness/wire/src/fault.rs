//! Every fault the harness can inject, as one type from the scenario file to
//! the report, and the phases a transcript records of each. Pure data.
//!
//! A fault is declared (`armed`, with no exchange: the scenario put it in
//! force), may be matched to a stream (`armed` again, with the exchange its
//! selector picked), acts (`fired`, with the exchange it hit, if any) and may
//! end (`cleared`: a toxic removed, the network up, the pipes cleared). The
//! records of one declared fault share its `id`. Consumers ask a fault what
//! it does ([`Fault::loses_messages`], [`Fault::only_slows`], ...) and match
//! on it; no code outside this module and its serde compares fault names.

use serde::{Deserialize, Serialize};

/// When a held response is let go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HoldUntil {
    /// After this many milliseconds.
    Elapsed {
        /// Milliseconds.
        ms: u64,
    },
    /// When a later request with this HTTP method (`GET`) or JSON-RPC method
    /// (`tools/list`) arrives at the proxy.
    Request {
        /// The method.
        method: String,
    },
}

/// A fault on one HTTP exchange's stream, as a scenario writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum StreamFault {
    /// Deliver the first `after` events, then drop the client's connection and
    /// the proxy's connection to the server at once, as when a client process
    /// dies or a laptop lid closes: the server sees its stream break (its next
    /// write fails or its read sees EOF). Events already read from the server
    /// but not delivered are recorded as withheld.
    Cut {
        /// Events delivered before the cut.
        after: u32,
    },
    /// Deliver the first `after` events, then drop the client's connection
    /// only: the server's stream is kept open and read for a bounded time
    /// (`drain_limit`), and everything it sends is recorded as withheld, so
    /// the checks see what the client missed. The server does not see the
    /// client go until the drain ends.
    Partition {
        /// Events delivered before the partition.
        after: u32,
    },
    /// Deliver every event up to the JSON-RPC response of the stream, then cut
    /// as `cut` does (both sides closed; the response is withheld).
    CutBeforeResponse,
    /// Deliver every event up to the JSON-RPC response of the stream, then
    /// partition as `partition` does (the server's stream is drained).
    PartitionBeforeResponse,
    /// After `after` events, deliver nothing for `ms`, then go on.
    Stall {
        /// Events delivered before the stall.
        after: u32,
        /// Length of the stall.
        ms: u64,
    },
    /// Delay every event by `ms`.
    Delay {
        /// Delay per event.
        ms: u64,
    },
    /// After `after` events, send `retry: retry_ms` and end the stream cleanly
    /// (SSE polling), and close the proxy's connection to the server, as a
    /// server that closes its stream would; the client must come back with
    /// `Last-Event-ID`.
    CloseWithRetry {
        /// Events delivered before the close.
        after: u32,
        /// The `retry:` value sent.
        retry_ms: u64,
    },
    /// Hold back the JSON-RPC response (not notifications or requests) of the
    /// stream until the condition.
    HoldResponse {
        /// When to let it go.
        until: HoldUntil,
    },
    /// The request never reaches the server; the client's connection is dropped.
    DropRequest,
    /// The request reaches the server, but the client's connection is dropped
    /// before it gets any response, and the proxy's connection to the server is
    /// closed as soon as the response head arrives (a JSON body already read is
    /// recorded as withheld).
    DropResponse,
    /// The proxy answers with this HTTP status itself and the request never
    /// reaches the server (e.g. 404 for a session the server "expired").
    Answer {
        /// The status, e.g. 404.
        status: u16,
    },
}

impl StreamFault {
    /// Whether a cut or partition happens before event number `index` (from
    /// 1), given whether that event is the stream's JSON-RPC response.
    pub fn cuts_before(&self, index: u32, is_response: bool) -> bool {
        match self {
            Self::Cut { after } | Self::Partition { after } => index > *after,
            Self::CutBeforeResponse | Self::PartitionBeforeResponse => is_response,
            _ => false,
        }
    }

    /// A cut closes the server's side as well as the client's.
    pub fn closes_server_side(&self) -> bool {
        matches!(self, Self::Cut { .. } | Self::CutBeforeResponse)
    }
}

/// A Toxiproxy toxic type (its attributes are in the record's detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToxicType {
    /// Delay each chunk.
    Latency,
    /// Limit throughput.
    Bandwidth,
    /// Delay the close of the connection.
    SlowClose,
    /// Pass no data; close after a while.
    Timeout,
    /// Reset the connection.
    ResetPeer,
    /// Cut data into small pieces.
    Slicer,
    /// Close the connection after some bytes.
    LimitData,
}

impl ToxicType {
    /// Whether it only slows data down (nothing is lost).
    pub fn only_slows(self) -> bool {
        match self {
            Self::Latency | Self::Bandwidth | Self::SlowClose | Self::Slicer => true,
            Self::Timeout | Self::ResetPeer | Self::LimitData => false,
        }
    }
}

/// What was done to the server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessFault {
    /// SIGKILL, then a restart with the same state.
    Kill,
    /// stdio: its stdin closed mid-call (then the stdio shutdown).
    CloseStdin,
}

/// Holds on a stdio server's pipes, in milliseconds (all 0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeFault {
    /// Hold each line to the server.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_to_server_ms: u64,
    /// Hold each line to the client.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_to_client_ms: u64,
    /// Hold the next line to the server.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stall_to_server_ms: u64,
    /// Hold the next line to the client.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stall_to_client_ms: u64,
    /// Write each client line in two parts this far apart (0: whole).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub split_writes_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PipeFault {
    /// Whether nothing is held (setting it clears the pipe faults).
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

/// Every fault the harness can inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Fault {
    /// One HTTP exchange's stream, at the SSE level.
    Stream {
        /// What is done to it.
        #[serde(flatten)]
        fault: StreamFault,
    },
    /// The TCP link to the server: a Toxiproxy toxic.
    Tcp {
        /// Its type.
        toxic: ToxicType,
        /// Its name (what removes it).
        name: String,
    },
    /// The network to the server: down when fired, up when cleared.
    Network,
    /// The server process.
    Process {
        /// What is done to it.
        fault: ProcessFault,
    },
    /// A stdio server's pipes.
    Pipe {
        /// The holds.
        #[serde(flatten)]
        holds: PipeFault,
    },
    /// The proxy refused a request body over its size limit (not chosen by a
    /// scenario, but it keeps the request from the server all the same).
    BodyRefused,
}

/// Which phase of a fault a record marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPhase {
    /// Put in force (no exchange), or matched to a stream (with its exchange).
    Armed,
    /// It acted: the stream was cut, the toxic added, the process killed.
    Fired,
    /// It stopped: a toxic removed, the network up, the pipes cleared.
    Cleared,
}

impl FaultPhase {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Armed => "armed",
            Self::Fired => "fired",
            Self::Cleared => "cleared",
        }
    }
}

/// Where a fault record belongs: its phase, the declared fault it is of (if
/// a scenario declared it), the exchange it was matched to or hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultMark {
    /// The phase.
    pub phase: FaultPhase,
    /// The declared fault.
    pub id: Option<u32>,
    /// The exchange.
    pub exchange: Option<u64>,
}

impl FaultMark {
    /// Declared fault `id` put in force.
    pub fn declared(id: u32) -> Self {
        Self {
            phase: FaultPhase::Armed,
            id: Some(id),
            exchange: None,
        }
    }

    /// Declared fault `id` matched to `exchange` by its selector.
    pub fn matched(id: u32, exchange: u64) -> Self {
        Self {
            phase: FaultPhase::Armed,
            id: Some(id),
            exchange: Some(exchange),
        }
    }

    /// A fault acting (on `exchange`, if on one).
    pub fn fired(id: Option<u32>, exchange: Option<u64>) -> Self {
        Self {
            phase: FaultPhase::Fired,
            id,
            exchange,
        }
    }

    /// A fault that stands on the connection, ended.
    pub fn cleared(id: Option<u32>) -> Self {
        Self {
            phase: FaultPhase::Cleared,
            id,
            exchange: None,
        }
    }
}

impl Fault {
    /// A stream fault.
    pub fn stream(fault: StreamFault) -> Self {
        Self::Stream { fault }
    }

    /// The fault's short name, as reports show it (`cut`, `latency`, `kill`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Stream { fault } => match fault {
                StreamFault::Cut { .. } => "cut",
                StreamFault::Partition { .. } => "partition",
                StreamFault::CutBeforeResponse => "cut_before_response",
                StreamFault::PartitionBeforeResponse => "partition_before_response",
                StreamFault::Stall { .. } => "stall",
                StreamFault::Delay { .. } => "delay",
                StreamFault::CloseWithRetry { .. } => "close_with_retry",
                StreamFault::HoldResponse { .. } => "hold_response",
                StreamFault::DropRequest => "drop_request",
                StreamFault::DropResponse => "drop_response",
                StreamFault::Answer { .. } => "answer",
            },
            Self::Tcp { toxic, .. } => match toxic {
                ToxicType::Latency => "latency",
                ToxicType::Bandwidth => "bandwidth",
                ToxicType::SlowClose => "slow_close",
                ToxicType::Timeout => "timeout",
                ToxicType::ResetPeer => "reset_peer",
                ToxicType::Slicer => "slicer",
                ToxicType::LimitData => "limit_data",
            },
            Self::Network => "network_down",
            Self::Process { fault } => match fault {
                ProcessFault::Kill => "kill",
                ProcessFault::CloseStdin => "close_stdin",
            },
            Self::Pipe { .. } => "pipe",
            Self::BodyRefused => "body_refused",
        }
    }

    /// The stream fault, if it is one.
    pub fn on_stream(&self) -> Option<&StreamFault> {
        match self {
            Self::Stream { fault } => Some(fault),
            _ => None,
        }
    }

    /// Whether it can keep a message from its peer for good: the stream
    /// broken, a request or response dropped, the link reset or down, the
    /// process killed.
    pub fn loses_messages(&self) -> bool {
        match self {
            Self::Stream { fault } => match fault {
                StreamFault::Cut { .. }
                | StreamFault::Partition { .. }
                | StreamFault::CutBeforeResponse
                | StreamFault::PartitionBeforeResponse
                | StreamFault::CloseWithRetry { .. }
                | StreamFault::DropRequest
                | StreamFault::DropResponse => true,
                // The proxy answers in the server's place: the client gets a
                // refusal it can act on, nothing vanishes unseen.
                StreamFault::Answer { .. }
                | StreamFault::Stall { .. }
                | StreamFault::Delay { .. }
                | StreamFault::HoldResponse { .. } => false,
            },
            Self::Tcp { toxic, .. } => !toxic.only_slows(),
            Self::Network | Self::Process { .. } | Self::BodyRefused => true,
            Self::Pipe { .. } => false,
        }
    }

    /// Whether it only slows delivery down: every message still arrives.
    pub fn only_slows(&self) -> bool {
        match self {
            Self::Stream { fault } => {
                matches!(fault, StreamFault::Stall { .. } | StreamFault::Delay { .. })
            }
            Self::Tcp { toxic, .. } => toxic.only_slows(),
            Self::Pipe { .. } => true,
            Self::Network | Self::Process { .. } | Self::BodyRefused => false,
        }
    }

    /// Whether it holds back or stops what the client gets on the stream it
    /// hit (a stall or a delay only slows it).
    pub fn stands_in_the_way(&self) -> bool {
        match self {
            Self::Stream { fault } => {
                !matches!(fault, StreamFault::Stall { .. } | StreamFault::Delay { .. })
            }
            _ => true,
        }
    }

    /// Whether it kills the server process.
    pub fn kills_server(&self) -> bool {
        matches!(
            self,
            Self::Process {
                fault: ProcessFault::Kill
            }
        )
    }

    /// Whether it ends the stream it hits before the stream's own end (a cut,
    /// a partition, a close with `retry:`): what a client must resume.
    pub fn ends_stream(&self) -> bool {
        matches!(
            self,
            Self::Stream {
                fault: StreamFault::Cut { .. }
                    | StreamFault::Partition { .. }
                    | StreamFault::CutBeforeResponse
                    | StreamFault::PartitionBeforeResponse
                    | StreamFault::CloseWithRetry { .. }
            }
        )
    }

    /// Whether it breaks the stream but keeps the server's side open (a
    /// partition: the server is drained, the client sees the break).
    pub fn is_partition(&self) -> bool {
        matches!(
            self,
            Self::Stream {
                fault: StreamFault::Partition { .. } | StreamFault::PartitionBeforeResponse
            }
        )
    }

    /// Whether the server feels it: its connection breaks, its process dies or
    /// its stdin closes, as when a real client goes away (a partition, a stall
    /// or a dropped request leave the server's side as it was).
    pub fn felt_by_server(&self) -> bool {
        match self {
            Self::Stream { fault } => matches!(
                fault,
                StreamFault::Cut { .. }
                    | StreamFault::CutBeforeResponse
                    | StreamFault::CloseWithRetry { .. }
                    | StreamFault::DropResponse
            ),
            Self::Tcp { toxic, .. } => !toxic.only_slows(),
            Self::Network | Self::Process { .. } => true,
            Self::Pipe { .. } | Self::BodyRefused => false,
        }
    }

    /// Whether it stands on the whole connection (or pipes, or process) from
    /// when it fired until it is cleared, rather than on one exchange.
    pub fn stands_until_cleared(&self) -> bool {
        matches!(self, Self::Tcp { .. } | Self::Network | Self::Pipe { .. })
    }

    /// Whether a `cleared` record of `other` ends this fault: the same toxic
    /// by name, the network, any pipe setting (a new one replaces it).
    pub fn cleared_by(&self, other: &Fault) -> bool {
        match (self, other) {
            (Self::Tcp { name: a, .. }, Self::Tcp { name: b, .. }) => a == b,
            (Self::Network, Self::Network) | (Self::Pipe { .. }, Self::Pipe { .. }) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads transcripts of format version 1, which named a fault (`"fault":
/// "cut"`) and said what it did in its detail: each fault record is rewritten
/// as version 2 writes it, its parameters and phase read back from the
/// detail. Version 1 recorded a stream fault twice, when its rule matched the
/// request (the detail was the rule, `Cut { after: 2 }`: now `armed`) and
/// when it acted (`fired`).
#[derive(Debug, Default)]
pub struct UpgradeV1 {
    /// The toxics added so far, by name: a removal names only the toxic.
    toxics: std::collections::HashMap<String, ToxicType>,
}

impl UpgradeV1 {
    /// Rewrite `record` (one line of a version 1 file) if it is a fault.
    pub fn record(&mut self, record: &mut serde_json::Value) {
        use serde_json::Value;
        if record.get("kind").and_then(Value::as_str) != Some("fault") {
            return;
        }
        let Some(name) = record
            .get("fault")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return;
        };
        let detail = record
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if name == "toxic_removed" && !self.toxics.contains_key(&toxic_name_of(&detail)) {
            // Version 1 recorded a removal before asking for it: of a toxic
            // never added, nothing was removed. A note keeps what it said.
            let seq = record.get("seq").cloned().unwrap_or_default();
            let at_us = record.get("at_us").cloned().unwrap_or_default();
            *record = serde_json::json!({"seq": seq, "at_us": at_us, "kind": "note",
                "text": format!("version 1 fault record: {detail} (no such toxic was added)")});
            return;
        }
        let Some((fault, phase)) = self.read(&name, &detail) else {
            return; // an unknown name: left as is, so reading it fails and says where
        };
        record["fault"] = serde_json::to_value(fault).unwrap_or_default();
        record["phase"] = serde_json::to_value(phase).unwrap_or_default();
    }

    fn read(&mut self, name: &str, detail: &str) -> Option<(Fault, FaultPhase)> {
        // Version 1's record of a matched rule was the rule's Debug form.
        let rule = detail.starts_with(|c: char| c.is_ascii_uppercase());
        let numbers: Vec<u64> = detail
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        let n = |i: usize| numbers.get(i).copied().unwrap_or(0);
        let stream = |fault: StreamFault, armed: bool| {
            let phase = if armed {
                FaultPhase::Armed
            } else {
                FaultPhase::Fired
            };
            Some((Fault::stream(fault), phase))
        };
        let toxic_name = || toxic_name_of(detail);
        let toxic = |toxic: ToxicType| Fault::Tcp {
            toxic,
            name: toxic_name(),
        };
        match name {
            "cut" if detail == "CutBeforeResponse" => stream(StreamFault::CutBeforeResponse, true),
            "partition" if detail == "PartitionBeforeResponse" => {
                stream(StreamFault::PartitionBeforeResponse, true)
            }
            "cut" => stream(StreamFault::Cut { after: n(0) as u32 }, rule),
            "partition" => stream(StreamFault::Partition { after: n(0) as u32 }, rule),
            // Fired: "stalled {ms} ms before event {index}".
            "stall" if !rule => stream(
                StreamFault::Stall {
                    after: n(1).saturating_sub(1) as u32,
                    ms: n(0),
                },
                false,
            ),
            "stall" => stream(
                StreamFault::Stall {
                    after: n(0) as u32,
                    ms: n(1),
                },
                true,
            ),
            // Fired: "stream closed with retry: {retry_ms} after {after} events".
            "close_with_retry" if !rule => stream(
                StreamFault::CloseWithRetry {
                    after: n(1) as u32,
                    retry_ms: n(0),
                },
                false,
            ),
            "close_with_retry" => stream(
                StreamFault::CloseWithRetry {
                    after: n(0) as u32,
                    retry_ms: n(1),
                },
                true,
            ),
            "hold_response" => stream(
                StreamFault::HoldResponse {
                    until: HoldUntil::Elapsed { ms: n(0) },
                },
                rule,
            ),
            // Recorded once, when the rule matched: they act at once.
            "delay" => stream(StreamFault::Delay { ms: n(0) }, false),
            "drop_request" => stream(StreamFault::DropRequest, false),
            "drop_response" => stream(StreamFault::DropResponse, false),
            "answer" => stream(
                StreamFault::Answer {
                    status: n(0) as u16,
                },
                false,
            ),
            "proxy_refused" => Some((Fault::BodyRefused, FaultPhase::Fired)),
            "network_down" => Some((Fault::Network, FaultPhase::Fired)),
            "network_up" => Some((Fault::Network, FaultPhase::Cleared)),
            "kill" => Some((
                Fault::Process {
                    fault: ProcessFault::Kill,
                },
                FaultPhase::Fired,
            )),
            "close_stdin" => Some((
                Fault::Process {
                    fault: ProcessFault::CloseStdin,
                },
                FaultPhase::Fired,
            )),
            "pipe" => Some((
                Fault::Pipe {
                    holds: PipeFault::default(),
                },
                FaultPhase::Fired,
            )),
            "pipe_cleared" => Some((
                Fault::Pipe {
                    holds: PipeFault::default(),
                },
                FaultPhase::Cleared,
            )),
            "toxic_removed" => {
                let name = toxic_name();
                let kind = self.toxics.get(&name).copied()?;
                Some((toxic(kind), FaultPhase::Cleared))
            }
            other => {
                let kind: ToxicType =
                    serde_json::from_value(serde_json::Value::String(other.into())).ok()?;
                self.toxics.insert(toxic_name(), kind);
                Some((toxic(kind), FaultPhase::Fired))
            }
        }
    }
}

/// The toxic a version 1 detail names: `toxic NAME added: ...`, `toxic NAME removed`.
fn toxic_name_of(detail: &str) -> String {
    detail
        .strip_prefix("toxic ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn faults_round_trip_through_json_with_target_and_fault() {
        let cut = Fault::stream(StreamFault::Cut { after: 2 });
        let text = serde_json::to_value(&cut).unwrap();
        assert_eq!(
            text,
            json!({"target": "stream", "fault": "cut", "after": 2})
        );
        assert_eq!(serde_json::from_value::<Fault>(text).unwrap(), cut);
        let toxic = Fault::Tcp {
            toxic: ToxicType::ResetPeer,
            name: "reset_peer_downstream".into(),
        };
        let text = serde_json::to_value(&toxic).unwrap();
        assert_eq!(
            text,
            json!({"target": "tcp", "toxic": "reset_peer", "name": "reset_peer_downstream"})
        );
        assert_eq!(serde_json::from_value::<Fault>(text).unwrap(), toxic);
        let pipe = Fault::Pipe {
            holds: PipeFault {
                delay_to_client_ms: 40,
                ..PipeFault::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&pipe).unwrap(),
            json!({"target": "pipe", "delay_to_client_ms": 40})
        );
        for fault in [
            Fault::Network,
            Fault::Process {
                fault: ProcessFault::Kill,
            },
            Fault::BodyRefused,
            pipe,
        ] {
            let back: Fault =
                serde_json::from_value(serde_json::to_value(&fault).unwrap()).unwrap();
            assert_eq!(back, fault);
        }
    }

    #[test]
    fn each_fault_knows_what_it_does() {
        let cut = Fault::stream(StreamFault::Cut { after: 1 });
        assert!(cut.loses_messages() && cut.ends_stream() && cut.felt_by_server());
        assert!(!cut.only_slows());
        let partition = Fault::stream(StreamFault::Partition { after: 1 });
        assert!(partition.is_partition() && !partition.felt_by_server());
        let stall = Fault::stream(StreamFault::Stall { after: 1, ms: 5 });
        assert!(stall.only_slows() && !stall.stands_in_the_way() && !stall.loses_messages());
        let latency = Fault::Tcp {
            toxic: ToxicType::Latency,
            name: "l".into(),
        };
        assert!(latency.only_slows() && latency.stands_until_cleared());
        let reset = Fault::Tcp {
            toxic: ToxicType::ResetPeer,
            name: "r".into(),
        };
        assert!(reset.loses_messages() && !reset.only_slows());
        assert!(reset.cleared_by(&Fault::Tcp {
            toxic: ToxicType::ResetPeer,
            name: "r".into()
        }));
        assert!(!reset.cleared_by(&latency));
        let kill = Fault::Process {
            fault: ProcessFault::Kill,
        };
        assert!(kill.kills_server() && kill.loses_messages() && !kill.stands_until_cleared());
    }

    #[test]
    fn a_cut_before_the_response_waits_for_the_response() {
        let fault = StreamFault::CutBeforeResponse;
        assert!(!fault.cuts_before(5, false));
        assert!(fault.cuts_before(5, true));
        assert!(StreamFault::Cut { after: 2 }.cuts_before(3, false));
        assert!(!StreamFault::Cut { after: 2 }.cuts_before(2, false));
    }

    #[test]
    fn version_1_records_read_back_with_their_phase_and_parameters() {
        let mut upgrade = UpgradeV1::default();
        let mut read = |name: &str, detail: &str| {
            let mut record = json!({"seq": 1, "at_us": 0, "kind": "fault", "exchange": 3, "fault": name, "detail": detail});
            upgrade.record(&mut record);
            (
                serde_json::from_value::<Fault>(record["fault"].clone()).unwrap(),
                serde_json::from_value::<FaultPhase>(record["phase"].clone()).unwrap(),
            )
        };
        assert_eq!(
            read("cut", "Cut { after: 2 }"),
            (
                Fault::stream(StreamFault::Cut { after: 2 }),
                FaultPhase::Armed
            )
        );
        assert_eq!(
            read(
                "cut",
                "connection dropped after 2 events, on the client's side and the server's"
            ),
            (
                Fault::stream(StreamFault::Cut { after: 2 }),
                FaultPhase::Fired
            )
        );
        assert_eq!(
            read("stall", "stalled 2000 ms before event 2"),
            (
                Fault::stream(StreamFault::Stall { after: 1, ms: 2000 }),
                FaultPhase::Fired
            )
        );
        let reset = Fault::Tcp {
            toxic: ToxicType::ResetPeer,
            name: "reset_peer_downstream".into(),
        };
        assert_eq!(
            read(
                "reset_peer",
                "toxic reset_peer_downstream added: {\"type\":\"reset_peer\"}"
            ),
            (reset.clone(), FaultPhase::Fired)
        );
        assert_eq!(
            read("toxic_removed", "toxic reset_peer_downstream removed"),
            (reset, FaultPhase::Cleared)
        );
        assert_eq!(
            read("network_up", ""),
            (Fault::Network, FaultPhase::Cleared)
        );
    }

    #[test]
    fn a_version_1_removal_of_a_toxic_never_added_reads_as_a_note() {
        let mut record = json!({"seq": 4, "at_us": 9, "kind": "fault", "fault": "toxic_removed", "detail": "toxic ghost removed"});
        UpgradeV1::default().record(&mut record);
        assert_eq!(record["kind"], "note");
        assert_eq!(record["seq"], 4);
        assert!(
            record["text"]
                .as_str()
                .unwrap()
                .contains("toxic ghost removed")
        );
        let read: crate::Record = serde_json::from_value(record).unwrap();
        assert_eq!(read.seq, 4);
    }
}
