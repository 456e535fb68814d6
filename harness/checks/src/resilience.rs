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

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analysis::{Analysis, Exchange};
use crate::rules::support::{is_response, resumes_of};

/// Faults that hit one exchange's stream.
const STREAM_FAULTS: [&str; 5] = [
    "cut",
    "partition",
    "close_with_retry",
    "drop_request",
    "drop_response",
];

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

fn answered(a: &Analysis, x: &Exchange) -> bool {
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
                && m.pointer("/result/resultType").and_then(Value::as_str) != Some("input_required")
        })
}

/// Judge the resilience of the calls in `a`.
pub fn resilience(a: &Analysis) -> Resilience {
    let calls: Vec<&Exchange> = a
        .exchanges
        .iter()
        .filter(|x| x.method == "POST" && x.rpc_method() == Some("tools/call"))
        .collect();
    let hit: Vec<(&Exchange, &str)> = calls
        .iter()
        .filter_map(|x| {
            a.faults_on(x)
                .find(|f| STREAM_FAULTS.contains(f))
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
    let recovering: Vec<(&Exchange, &str)> = hit
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
            lost.push(LostCall {
                seq: x.request_seq,
                detail: format!(
                    "request {} ({} at record {}) never got its response after a {fault}",
                    x.rpc_id().cloned().unwrap_or_default(),
                    call_key(x).map(|k| k.0.to_string()).unwrap_or_default(),
                    x.request_seq
                ),
            });
        }
    }
    let calls = recovering.len();
    if lost.is_empty() {
        Resilience::Survived { calls }
    } else {
        Resilience::Lost { calls, lost }
    }
}
