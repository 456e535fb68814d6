//! Resilience, beside conformance: did each call that a stream fault hit end
//! as a call does without the fault (with its response), through the client's
//! resume or re-issue? Replay is a MAY, so a server can keep every rule and
//! still lose calls; this says which. Pure: a function of the transcript.
//!
//! A call is judged when a stream fault (cut, partition, close with retry,
//! dropped request or response) hit its exchange and its own client tried to
//! recover (resumed its stream from its session, or re-issued the same call).
//! A call the harness killed the server under is not judged here (the
//! durability tests judge restarts), nor a run whose server offered neither
//! resumption (no SSE event ids) nor durability (no tasks, no run links).
//!
//! A fault that only slows delivery down loses nothing, so a request it hit
//! must get its response with no recovery at all: a stall of its stream, a
//! latency, bandwidth or slicer toxic, the stdio pipe faults (lines held,
//! stalled or split). Any server is judged on those.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use mcp_harness_wire::{Fault, FaultPhase, ProcessFault};

use crate::analysis::{Analysis, Exchange, FaultView};
use crate::rules::support::{is_response, resumes_of};

/// A call a fault hit that never got its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostCall {
    /// The record of the call's request.
    pub seq: u64,
    /// What happened, in one sentence.
    pub detail: String,
}

/// The resilience answer of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Resilience {
    /// No stream fault hit a call (kills are judged by the durability tests).
    NotChaos,
    /// Faults hit calls, but there is nothing to hold the server to.
    NotJudged {
        /// Why.
        reason: String,
    },
    /// Every call judged survived.
    Survived {
        /// Calls judged.
        calls: usize,
    },
    /// Some calls were lost.
    Lost {
        /// Calls judged.
        calls: usize,
        /// The lost ones.
        lost: Vec<LostCall>,
    },
}

impl Resilience {
    /// Whether a call was lost.
    pub fn lost(&self) -> bool {
        matches!(self, Self::Lost { .. })
    }

    /// Whether calls were judged (survived or lost).
    pub fn judged(&self) -> bool {
        matches!(self, Self::Survived { .. } | Self::Lost { .. })
    }

    /// One line for reports.
    pub fn summary(&self) -> String {
        match self {
            Self::NotChaos => "no call was hit by a fault".into(),
            Self::NotJudged { reason } => format!("not judged: {reason}"),
            Self::Survived { calls } => format!("{calls} of {calls} calls hit by a fault survived"),
            Self::Lost { calls, lost } => format!(
                "{} of {calls} calls hit by a fault were lost: {}",
                lost.len(),
                lost.iter()
                    .map(|l| l.detail.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

/// What identifies "the same call" across re-issues: tool, arguments, token.
fn call_key(x: &Exchange) -> Option<(Value, Value, Value)> {
    let params = x.body.as_ref()?.get("params")?;
    Some((
        params.get("name").cloned().unwrap_or_default(),
        params.get("arguments").cloned().unwrap_or_default(),
        params
            .pointer("/_meta/progressToken")
            .cloned()
            .unwrap_or_default(),
    ))
}

/// Whether `x` got its final response (not a 2026-07-28 `input_required`).
fn answered(a: &Analysis, x: &Exchange) -> bool {
    got_response(a, x, false)
}

/// Whether a response to `x` reached the client: on its own stream (or, in
/// the legacy era, any stream of its session); an `input_required` counts
/// only when `input_required_counts`.
fn got_response(a: &Analysis, x: &Exchange, input_required_counts: bool) -> bool {
    let Some(id) = x.rpc_id() else { return false };
    let modern = a.is_modern();
    a.exchanges
        .iter()
        .filter(|r| {
            if modern {
                r.id == x.id
            } else {
                r.session() == x.session()
            }
        })
        .flat_map(|r| r.server_messages())
        .any(|(_, m, d)| {
            d == mcp_harness_wire::Delivery::Delivered
                && is_response(m)
                && &m["id"] == id
                && (input_required_counts
                    || m.pointer("/result/resultType").and_then(Value::as_str)
                        != Some("input_required"))
        })
}

/// The records between which a slowing fault of the whole connection stood:
/// (from, until), `until` the record that ended it, if any did.
fn slowing_spans(a: &Analysis) -> Vec<(u64, Option<u64>)> {
    a.fired()
        .filter(|f| f.exchange.is_none() && f.fault.stands_until_cleared() && f.fault.only_slows())
        .map(|f| (f.seq, ended_by(a, f)))
        .collect()
}

/// Where the connection-wide fault `fired` stopped standing: the first
/// record after it that clears it (a toxic removed, the network up) or
/// replaces it (pipe faults set again); a closed stdin ends with the kill
/// that ends the process.
fn ended_by(a: &Analysis, fired: &FaultView) -> Option<u64> {
    a.faults
        .iter()
        .filter(|f| f.seq > fired.seq && f.exchange.is_none())
        .find(|f| match f.phase {
            FaultPhase::Cleared => fired.fault.cleared_by(&f.fault),
            FaultPhase::Fired => match (&fired.fault, &f.fault) {
                (Fault::Pipe { .. }, Fault::Pipe { .. }) => true,
                (
                    Fault::Process {
                        fault: ProcessFault::CloseStdin,
                    },
                    later,
                ) => later.kills_server(),
                _ => false,
            },
            FaultPhase::Armed => false,
        })
        .map(|f| f.seq)
}

/// Whether a fault standing from record `from` until `until` (or to the end)
/// stood while `x` was open.
fn stood_during(x: &Exchange, from: u64, until: Option<u64>) -> bool {
    from < x.end_seq.unwrap_or(u64::MAX) && until.is_none_or(|u| u > x.request_seq)
}

/// The requests a slowing fault hit and nothing else stood in the way of:
/// no stream fault, kill, network down, losing toxic or closed stdin while
/// they were open, and the client did not cancel them.
fn slowed_calls<'a>(a: &'a Analysis, calls: &[&'a Exchange]) -> Vec<&'a Exchange> {
    let spans = slowing_spans(a);
    let cancelled: Vec<Value> = a
        .exchanges
        .iter()
        .filter(|x| x.rpc_method() == Some("notifications/cancelled"))
        .filter_map(|x| x.body.as_ref()?.pointer("/params/requestId").cloned())
        .collect();
    calls
        .iter()
        .copied()
        .filter(|x| {
            let open_at = |seq: u64| seq > x.request_seq && x.end_seq.is_none_or(|end| seq < end);
            let on_its_stream = a.faults_on(x).any(Fault::only_slows);
            let in_a_span = spans
                .iter()
                .any(|(from, until)| stood_during(x, *from, *until));
            let other_fault = a.fired().any(|f| match f.exchange {
                Some(id) => id == x.id && !f.fault.only_slows(),
                None if f.fault.kills_server() => open_at(f.seq),
                None if f.fault.only_slows() => false,
                // A losing fault of the whole connection (network down,
                // a reset_peer or timeout toxic, stdin closed) stands
                // from its record to its end.
                None => stood_during(x, f.seq, ended_by(a, f)),
            });
            let was_cancelled = x.rpc_id().is_some_and(|id| cancelled.contains(id));
            (on_its_stream || in_a_span) && !other_fault && !was_cancelled
        })
        .collect()
}

/// `x`, lost: it never got its response, `why`.
fn lost_call(x: &Exchange, why: &str) -> LostCall {
    LostCall {
        seq: x.request_seq,
        detail: format!(
            "request {} ({} at record {}) never got its response {why}",
            x.rpc_id().cloned().unwrap_or_default(),
            call_key(x).map(|k| k.0.to_string()).unwrap_or_default(),
            x.request_seq
        ),
    }
}

/// Judge the requests only slowed down: each must have got its response.
fn judge_slowed(a: &Analysis, calls: &[&Exchange]) -> (usize, Vec<LostCall>) {
    let slowed = slowed_calls(a, calls);
    let lost = slowed
        .iter()
        .filter(|x| !got_response(a, x, true))
        .map(|x| lost_call(x, "though the faults only slowed it down"))
        .collect();
    (slowed.len(), lost)
}

/// `judged` with the slowed-down calls' answer added.
fn with_slowed(
    judged: Resilience,
    (slowed, mut slowed_lost): (usize, Vec<LostCall>),
) -> Resilience {
    if slowed == 0 {
        return judged;
    }
    let (calls, mut lost) = match judged {
        Resilience::Survived { calls } => (calls, Vec::new()),
        Resilience::Lost { calls, lost } => (calls, lost),
        Resilience::NotChaos | Resilience::NotJudged { .. } => (0, Vec::new()),
    };
    lost.append(&mut slowed_lost);
    lost.sort_by_key(|l| l.seq);
    let calls = calls + slowed;
    if lost.is_empty() {
        Resilience::Survived { calls }
    } else {
        Resilience::Lost { calls, lost }
    }
}

/// Judge the resilience of the calls in `a`.
pub fn resilience(a: &Analysis) -> Resilience {
    let calls: Vec<&Exchange> = a
        .exchanges
        .iter()
        .filter(|x| x.method == "POST" && x.rpc_method() == Some("tools/call"))
        .collect();
    with_slowed(stream_faults(a, &calls), judge_slowed(a, &calls))
}

/// The calls a stream fault hit, judged.
fn stream_faults(a: &Analysis, calls: &[&Exchange]) -> Resilience {
    let hit: Vec<(&Exchange, &Fault)> = calls
        .iter()
        .filter_map(|x| {
            a.faults_on(x)
                .find(|f| f.on_stream().is_some() && f.loses_messages())
                .map(|f| (*x, f))
        })
        .filter(|(x, _)| !a.kills.iter().any(|k| *k > x.request_seq))
        .collect();
    if hit.is_empty() {
        return Resilience::NotChaos;
    }
    // The client tried to recover: it resumed the stream from its own session,
    // or sent the same call again.
    let reissues = |x: &Exchange| -> Vec<&Exchange> {
        let key = call_key(x);
        calls
            .iter()
            .copied()
            .filter(|r| {
                r.request_seq > x.request_seq
                    && (a.is_modern() || r.session() == x.session())
                    && call_key(r) == key
            })
            .collect()
    };
    let recovering: Vec<(&Exchange, &Fault)> = hit
        .into_iter()
        .filter(|(x, _)| resumes_of(a, x).next().is_some() || !reissues(x).is_empty())
        .collect();
    let offered_resumption = !a.is_modern()
        && a.exchanges.iter().any(|x| {
            x.events
                .iter()
                .any(|e| e.id.is_some() && e.delivery == mcp_harness_wire::Delivery::Delivered)
        });
    let durable = a.server_declares_tasks()
        || calls.iter().any(|x| {
            x.server_messages().any(|(_, m, _)| {
                m.pointer("/result/content")
                    .and_then(Value::as_array)
                    .is_some_and(|c| {
                        c.iter()
                            .any(|b| b.get("type").and_then(Value::as_str) == Some("resource_link"))
                    })
            })
        });
    if !offered_resumption && !durable {
        return Resilience::NotJudged {
            reason: "the server offers no resumption (no SSE event ids) and no durability (no tasks, no run links)".into(),
        };
    }
    if recovering.is_empty() {
        return Resilience::NotJudged {
            reason: "the client did not try to recover the calls the faults hit".into(),
        };
    }
    let mut lost = Vec::new();
    for (x, fault) in &recovering {
        let survived = answered(a, x) || reissues(x).iter().any(|r| answered(a, r));
        if !survived {
            lost.push(lost_call(x, &format!("after a {fault}")));
        }
    }
    let calls = recovering.len();
    if lost.is_empty() {
        Resilience::Survived { calls }
    } else {
        Resilience::Lost { calls, lost }
    }
}
