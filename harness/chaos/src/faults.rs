//! SSE-level faults and which exchanges they hit. Pure: the proxy asks
//! [`FaultPlan::faults_for`] once per exchange and applies what it returns.

use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

pub use mcp_harness_wire::fault::{HoldUntil, StreamFault};

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
    /// The role (`elicits`, `samples`, `progress`...) of the called tool, as
    /// calls name it: the runner replaces it with the tool the target's
    /// profile binds to the role before the fault is armed, so a scenario's
    /// faults hit any server's own tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
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
            // A role the runner did not resolve to a tool matches nothing.
            && self.role.is_none()
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
    id: u32,
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

    /// Add a rule, declared as fault `id` (the records of its phases carry
    /// it); it counts occurrences from now.
    pub fn add(&self, id: u32, rule: FaultRule) {
        self.lock().push(ArmedRule {
            id,
            rule,
            seen: AtomicU32::new(0),
        });
    }

    /// Remove the rule declared as fault `id`; whether it was there.
    pub fn remove(&self, id: u32) -> Option<FaultRule> {
        let mut rules = self.lock();
        let at = rules.iter().position(|armed| armed.id == id)?;
        Some(rules.remove(at).rule)
    }

    /// Remove every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ArmedRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The faults for a new exchange described by `info`, in rule order, each
    /// with the id of the rule that chose it.
    pub fn faults_for(&self, info: &ExchangeInfo) -> Vec<(u32, StreamFault)> {
        self.lock()
            .iter()
            .filter(|armed| armed.rule.select.matches(info))
            .filter_map(|armed| {
                let nth = armed.seen.fetch_add(1, Ordering::Relaxed) + 1;
                match armed.rule.select.occurrence {
                    Some(k) if k != nth => None,
                    _ => Some((armed.id, armed.rule.fault.clone())),
                }
            })
            .collect()
    }
}

impl std::fmt::Display for StreamSelector {
    /// What the selector picks, in words: `the 1st tools/call of tool
    /// `travel_agent``, `every GET that resumes`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        parts.push(match self.occurrence {
            Some(k) => format!("the {}", ordinal(k)),
            None => "every".into(),
        });
        let calls_a_tool = self.tool.is_some() || self.role.is_some();
        parts.push(match (&self.rpc_method, &self.http_method) {
            (Some(method), _) => method.clone(),
            (None, _) if calls_a_tool => "tools/call".into(),
            (None, Some(http)) => http.to_ascii_uppercase(),
            (None, None) => "request".into(),
        });
        if let Some(tool) = &self.tool {
            parts.push(format!("of tool `{tool}`"));
        }
        if let Some(role) = &self.role {
            parts.push(format!("of the tool of role `{role}`"));
        }
        if let Some(token) = &self.progress_token {
            parts.push(format!("with progress token {token}"));
        }
        match self.resume {
            Some(true) => parts.push("that resumes".into()),
            Some(false) => parts.push("that does not resume".into()),
            None => {}
        }
        f.write_str(&parts.join(" "))
    }
}

/// `1st`, `2nd`, `3rd`, `11th`, `22nd`.
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
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
        plan.add(
            7,
            FaultRule {
                select: StreamSelector {
                    rpc_method: Some("tools/call".into()),
                    occurrence: Some(2),
                    ..Default::default()
                },
                fault: StreamFault::Cut { after: 3 },
            },
        );
        assert!(plan.faults_for(&call("a")).is_empty());
        assert_eq!(
            plan.faults_for(&call("b")),
            vec![(7, StreamFault::Cut { after: 3 })]
        );
        assert!(plan.faults_for(&call("c")).is_empty());
    }

    #[test]
    fn a_selector_says_what_it_picks() {
        let first_travel = StreamSelector {
            tool: Some("travel_agent".into()),
            occurrence: Some(1),
            ..Default::default()
        };
        assert_eq!(
            first_travel.to_string(),
            "the 1st tools/call of tool `travel_agent`"
        );
        let resumes = StreamSelector {
            http_method: Some("get".into()),
            resume: Some(true),
            occurrence: Some(12),
            ..Default::default()
        };
        assert_eq!(resumes.to_string(), "the 12th GET that resumes");
        assert_eq!(StreamSelector::default().to_string(), "every request");
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
