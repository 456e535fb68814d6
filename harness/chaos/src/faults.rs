//! SSE-level faults and which exchanges they hit. Pure: the proxy asks
//! [`FaultPlan::faults_for`] once per exchange and applies what it returns.

use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

/// Which HTTP exchanges (and so which streams) a fault applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamSelector {
    /// HTTP method: `POST` or `GET` (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// JSON-RPC method of the POSTed request, e.g. `tools/call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_method: Option<String>,
    /// Tool name of a `tools/call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Progress token of the request (`_meta.progressToken`), as written in
    /// the scenario (`"trip"` or `7`): tells apart calls that run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Value>")]
    pub progress_token: Option<serde_json::Value>,
    /// `true`: only GETs that resume (carry `Last-Event-ID`); `false`: only GETs
    /// that do not. Absent: either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<bool>,
    /// Only the k-th matching exchange (from 1); every one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
}

/// What the proxy knows of an exchange when it decides on faults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeInfo {
    /// HTTP method.
    pub http_method: String,
    /// JSON-RPC method of the body, if it is a request or notification.
    pub rpc_method: Option<String>,
    /// Tool name, for `tools/call`.
    pub tool: Option<String>,
    /// `_meta.progressToken` of the request.
    pub progress_token: Option<serde_json::Value>,
    /// Whether the request carries `Last-Event-ID`.
    pub resume: bool,
}

impl ExchangeInfo {
    /// Describe a request from its method, JSON body and `Last-Event-ID` presence.
    pub fn describe(http_method: &str, body: Option<&serde_json::Value>, resume: bool) -> Self {
        let rpc_method = body
            .and_then(|b| b.get("method"))
            .and_then(|m| m.as_str())
            .map(str::to_owned);
        let tool = match rpc_method.as_deref() {
            Some("tools/call") => body
                .and_then(|b| b.pointer("/params/name"))
                .and_then(|n| n.as_str())
                .map(str::to_owned),
            _ => None,
        };
        Self {
            http_method: http_method.to_ascii_uppercase(),
            rpc_method,
            tool,
            progress_token: body
                .and_then(|b| b.pointer("/params/_meta/progressToken"))
                .cloned(),
            resume,
        }
    }
}

impl StreamSelector {
    /// Whether `info` matches everything but the occurrence.
    pub fn matches(&self, info: &ExchangeInfo) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        self.http_method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&info.http_method))
            && same(&self.rpc_method, info.rpc_method.as_deref())
            && same(&self.tool, info.tool.as_deref())
            && self
                .progress_token
                .as_ref()
                .is_none_or(|t| Some(t) == info.progress_token.as_ref())
            && self
                .resume
                .is_none_or(|r| info.http_method == "GET" && r == info.resume)
    }
}

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

/// A fault on one exchange.
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
    /// Short name, as recorded in `Fault` records.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cut { .. } => "cut",
            Self::Partition { .. } => "partition",
            Self::CutBeforeResponse => "cut",
            Self::PartitionBeforeResponse => "partition",
            Self::Stall { .. } => "stall",
            Self::Delay { .. } => "delay",
            Self::CloseWithRetry { .. } => "close_with_retry",
            Self::HoldResponse { .. } => "hold_response",
            Self::DropRequest => "drop_request",
            Self::DropResponse => "drop_response",
            Self::Answer { .. } => "answer",
        }
    }
}

impl StreamFault {
    /// Whether a cut or partition happens before event number `index` (from
    /// 1), whose data is `data`.
    pub fn cuts_before(&self, index: u32, data: &str) -> bool {
        match self {
            Self::Cut { after } | Self::Partition { after } => index > *after,
            Self::CutBeforeResponse | Self::PartitionBeforeResponse => is_response_data(data),
            _ => false,
        }
    }
}

/// Whether SSE data is a JSON-RPC response (an id and a result or error, no method).
pub fn is_response_data(data: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(data)
        .ok()
        .is_some_and(|m| {
            m.get("id").is_some()
                && m.get("method").is_none()
                && (m.get("result").is_some() || m.get("error").is_some())
        })
}

/// A fault and the exchanges it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultRule {
    /// Which exchanges.
    #[serde(default)]
    pub select: StreamSelector,
    /// What to do to them.
    #[serde(flatten)]
    pub fault: StreamFault,
}

struct ArmedRule {
    rule: FaultRule,
    seen: AtomicU32,
}

/// The faults in force, each counting the exchanges it matched.
#[derive(Default)]
pub struct FaultPlan {
    rules: std::sync::Mutex<Vec<ArmedRule>>,
}

impl FaultPlan {
    /// An empty plan (no faults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a rule; it counts occurrences from now.
    pub fn add(&self, rule: FaultRule) {
        self.lock().push(ArmedRule {
            rule,
            seen: AtomicU32::new(0),
        });
    }

    /// Remove every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ArmedRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The faults for a new exchange described by `info`, in rule order.
    pub fn faults_for(&self, info: &ExchangeInfo) -> Vec<StreamFault> {
        self.lock()
            .iter()
            .filter(|armed| armed.rule.select.matches(info))
            .filter_map(|armed| {
                let nth = armed.seen.fetch_add(1, Ordering::Relaxed) + 1;
                match armed.rule.select.occurrence {
                    Some(k) if k != nth => None,
                    _ => Some(armed.rule.fault.clone()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(tool: &str) -> ExchangeInfo {
        ExchangeInfo::describe(
            "post",
            Some(&json!({"method": "tools/call", "params": {"name": tool}})),
            false,
        )
    }

    #[test]
    fn selectors_match_method_tool_and_resume() {
        let travel = StreamSelector {
            tool: Some("travel_agent".into()),
            ..Default::default()
        };
        assert!(travel.matches(&call("travel_agent")));
        assert!(!travel.matches(&call("research_agent")));
        let resumes = StreamSelector {
            resume: Some(true),
            ..Default::default()
        };
        assert!(resumes.matches(&ExchangeInfo::describe("GET", None, true)));
        assert!(!resumes.matches(&ExchangeInfo::describe("GET", None, false)));
        assert!(!resumes.matches(&call("travel_agent")));
    }

    #[test]
    fn occurrence_picks_the_kth_match_only() {
        let plan = FaultPlan::new();
        plan.add(FaultRule {
            select: StreamSelector {
                rpc_method: Some("tools/call".into()),
                occurrence: Some(2),
                ..Default::default()
            },
            fault: StreamFault::Cut { after: 3 },
        });
        assert!(plan.faults_for(&call("a")).is_empty());
        assert_eq!(
            plan.faults_for(&call("b")),
            vec![StreamFault::Cut { after: 3 }]
        );
        assert!(plan.faults_for(&call("c")).is_empty());
    }

    #[test]
    fn rules_read_from_json() {
        let rule: FaultRule = serde_json::from_value(
            json!({"fault": "cut", "after": 2, "select": {"tool": "travel_agent"}}),
        )
        .unwrap();
        assert_eq!(rule.fault, StreamFault::Cut { after: 2 });
        let err =
            serde_json::from_value::<FaultRule>(json!({"fault": "cut", "after": 2, "oops": 1}))
                .unwrap_err();
        assert!(
            err.to_string().contains("oops") || err.to_string().contains("unknown"),
            "{err}"
        );
    }
}
