//! Target profiles: which of a server's own tools plays each role, so the
//! chaos scenarios run on servers that are not ours. Files live in
//! `fixtures/profiles/*.toml`; the reference agents' profile is built in.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::scenario::Role;

/// How a role is played by a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBinding {
    /// The tool's name.
    pub tool: String,
    /// Arguments to call it with.
    #[serde(default = "empty_object")]
    pub arguments: Value,
    /// What to answer when accepting its elicitation.
    #[serde(default)]
    pub accept_content: Option<Value>,
}

fn empty_object() -> Value {
    json!({})
}

/// A target profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name, for reports.
    pub name: String,
    /// Whether this is the built-in reference agents (expect_text is checked).
    #[serde(default)]
    pub reference: bool,
    /// Role bindings.
    #[serde(default)]
    pub roles: BTreeMap<Role, RoleBinding>,
    /// What the target's tools must (not) answer in given scenarios: the
    /// domain outcomes a scenario cannot know for a third-party server, e.g.
    /// that a declined booking says "not booked" and never "booked at".
    #[serde(default)]
    pub outcomes: Vec<DomainOutcome>,
    /// How the server speaks (`http` when absent): `stdio` for a server that
    /// `--server-cmd` starts and talks to on its stdin and stdout. The
    /// `--transport` option wins over it.
    #[serde(default)]
    pub transport: Option<crate::scenario::Transport>,
    /// Start a new server process for every case (by default a started
    /// server serves one case after another, each in its own session, and
    /// only the cases that kill or restart it get their own): for a server
    /// whose state from one case would change what the next one sees.
    #[serde(default)]
    pub fresh_process: bool,
}

/// A domain outcome the profile requires of every call result in some scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainOutcome {
    /// Scenario ids (`elicitation/decline`, or `elicitation/*` for a prefix).
    pub scenarios: Vec<String>,
    /// Text every call result of those scenarios must contain.
    #[serde(default)]
    pub contains: Option<String>,
    /// Text no call result of those scenarios may contain.
    #[serde(default)]
    pub lacks: Option<String>,
}

impl DomainOutcome {
    fn applies_to(&self, scenario: &str) -> bool {
        // A pattern written with a scenario's former id (`travel/accept`,
        // `travel/*`) still finds it.
        let former = crate::scenario::renamed::former_name(scenario);
        std::iter::once(scenario)
            .chain(former.as_deref())
            .any(|id| self.names(id))
    }

    fn names(&self, scenario: &str) -> bool {
        // Role-expanded cases (`streams/cut_first.progress`) match their file's id too.
        let file = scenario.split_once('.').map_or(scenario, |(file, _)| file);
        self.scenarios
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => scenario.starts_with(prefix),
                None => pattern == scenario || pattern == file,
            })
    }
}

impl Profile {
    /// The reference agents' profile.
    pub fn reference_agents() -> Self {
        let bind = |tool: &str, arguments: Value| RoleBinding {
            tool: tool.into(),
            arguments,
            accept_content: None,
        };
        let mut roles = BTreeMap::new();
        roles.insert(
            Role::Elicits,
            RoleBinding {
                accept_content: Some(json!({"confirm": true, "notes": "window seat"})),
                ..bind("travel_agent", json!({"destination": "Lisbon"}))
            },
        );
        roles.insert(
            Role::Samples,
            bind("research_agent", json!({"topic": "resumable streams"})),
        );
        roles.insert(
            Role::Progress,
            bind("long_running_agent", json!({"steps": 5})),
        );
        roles.insert(
            Role::MultiRound,
            bind("itinerary_agent", json!({"destination": "Kyoto"})),
        );
        roles.insert(
            Role::LongRunning,
            bind("long_running_agent", json!({"steps": 45})),
        );
        // Its log messages go out on the session's GET stream: they belong
        // to the session, not to the call's stream.
        roles.insert(
            Role::Notifies,
            bind("long_running_agent", json!({"steps": 30})),
        );
        Self {
            name: "reference-agents".into(),
            reference: true,
            roles,
            outcomes: Vec::new(),
            transport: None,
            fresh_process: false,
        }
    }

    /// A profile with no roles (generic scenarios only).
    pub fn none(name: &str) -> Self {
        Self {
            name: name.into(),
            reference: false,
            roles: BTreeMap::new(),
            outcomes: Vec::new(),
            transport: None,
            fresh_process: false,
        }
    }

    /// Judge the results of `steps` of `scenario` by this profile's domain
    /// outcomes; `None` when none applies to the scenario.
    pub fn judge_outcomes(
        &self,
        scenario: &str,
        version: &str,
        steps: &[crate::run::StepResult],
    ) -> Option<mcp_harness_checks::Verdict> {
        use mcp_harness_checks::expectations::{ResultText, judge_result_texts};
        let wanted: Vec<ResultText<'_>> = self
            .outcomes
            .iter()
            .filter(|o| o.applies_to(scenario))
            .map(|o| ResultText {
                contains: o.contains.as_deref(),
                lacks: o.lacks.as_deref(),
            })
            .collect();
        if wanted.is_empty() {
            return None;
        }
        Some(judge_result_texts(steps, &wanted, &self.name, version))
    }

    /// Read a profile file.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ProfileError::Read {
            path: path.to_owned(),
            cause,
        })?;
        toml::from_str(&text).map_err(|e| ProfileError::Invalid {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
    }

    /// The tool and arguments for `name` (a role name or a tool name).
    pub fn resolve(&self, name: &str) -> Option<RoleBinding> {
        let role: Option<Role> = serde_json::from_value(Value::String(name.into())).ok();
        match role {
            Some(role) => self.roles.get(&role).cloned(),
            None => Some(RoleBinding {
                tool: name.into(),
                arguments: json!({}),
                accept_content: None,
            }),
        }
    }

    /// Whether every role in `needs` is bound.
    pub fn missing(&self, needs: &[Role]) -> Option<Role> {
        needs.iter().copied().find(|r| !self.roles.contains_key(r))
    }
}

/// Why a profile file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// It could not be read.
    #[error("cannot read profile `{}`: {cause}", path.display())]
    Read {
        /// The profile file.
        path: std::path::PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
    /// It is not a profile (TOML syntax, an unknown field, a wrong type).
    #[error("profile `{}`: {message}", path.display())]
    Invalid {
        /// The profile file.
        path: std::path::PathBuf,
        /// What is wrong, as the TOML parser says.
        message: String,
    },
}

/// The profile's word for the `progress` role, held to account: a call of
/// the tool it binds to `progress`, made with a progress token, that ended in
/// a complete result without a single progress notification for its token is
/// a finding (`profile.progress_role`, a warning): the profile said the tool
/// reports progress. Calls that erred, were cut or asked for input are not
/// judged. `None` when the profile binds no tool to the role.
pub fn judge_progress_role(
    profile: &Profile,
    version: &str,
    analysis: &mcp_harness_checks::Analysis,
) -> Option<mcp_harness_checks::Verdict> {
    let tool = &profile.roles.get(&Role::Progress)?.tool;
    Some(mcp_harness_checks::expectations::judge_progress_role(
        analysis,
        tool,
        &profile.name,
        version,
    ))
}

#[cfg(test)]
mod progress_role_tests {
    use super::*;
    use mcp_harness_wire::{Body, Delivery, Headers, Record, Transcript, WireEvent};
    use serde_json::json;

    /// A call of `tool` with a progress token, answered on its stream by
    /// `progress` notifications (how many) and a complete result.
    fn call(tool: &str, progress: usize) -> mcp_harness_checks::Analysis {
        let mut events = vec![
            WireEvent::Request {
                exchange: 1,
                conn: 1,
                method: "POST".into(),
                path: "/mcp".into(),
                headers: Box::new(Headers::default()),
                body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": tool, "_meta": {"progressToken": "t"}}})),
            },
            WireEvent::Response {
                exchange: 1,
                status: 200,
                headers: Box::default(),
                body: Body::Empty,
                delivery: Delivery::Delivered,
            },
        ];
        let sse = |message: serde_json::Value| WireEvent::Sse {
            exchange: 1,
            index: 0,
            id: None,
            event: None,
            retry_ms: None,
            data: Some(Body::from_json(&message)),
            delivery: Delivery::Delivered,
        };
        for n in 0..progress {
            events.push(sse(
                json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": "t", "progress": n}}),
            ));
        }
        events.push(sse(
            json!({"jsonrpc": "2.0", "id": 2, "result": {"content": []}}),
        ));
        let records = events
            .into_iter()
            .enumerate()
            .map(|(seq, event)| Record {
                seq: seq as u64,
                at_us: seq as u64,
                event,
            })
            .collect();
        mcp_harness_checks::Analysis::of(&Transcript { records })
    }

    #[test]
    fn the_progress_role_s_tool_must_report_progress_when_asked() {
        let profile = Profile::reference_agents();
        let tool = profile.roles[&Role::Progress].tool.clone();
        let silent = judge_progress_role(&profile, "2025-11-25", &call(&tool, 0)).unwrap();
        assert_eq!(silent.outcome, mcp_harness_checks::Outcome::Warn);
        assert!(
            silent.findings[0]
                .observed
                .contains("without a progress notification")
        );
        let reporting = judge_progress_role(&profile, "2025-11-25", &call(&tool, 2)).unwrap();
        assert_eq!(reporting.outcome, mcp_harness_checks::Outcome::Pass);
        // Another tool's silence is not the role's.
        let other = judge_progress_role(&profile, "2025-11-25", &call("other_tool", 0)).unwrap();
        assert_eq!(other.outcome, mcp_harness_checks::Outcome::NotObserved);
    }
}
