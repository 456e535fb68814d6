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
    /// Scenario ids (`travel/declined`, or `travel/*` for a prefix).
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
        use mcp_harness_checks::{Finding, Level, Outcome, Verdict};
        let wanted: Vec<&DomainOutcome> = self
            .outcomes
            .iter()
            .filter(|o| o.applies_to(scenario))
            .collect();
        if wanted.is_empty() {
            return None;
        }
        let mut findings = Vec::new();
        let mut examined = 0;
        for step in steps {
            let Some(text) = &step.result_text else {
                continue;
            };
            examined += 1;
            for outcome in &wanted {
                if let Some(want) = outcome.contains.as_deref().filter(|w| !text.contains(w)) {
                    findings.push(Finding {
                        seq: None,
                        observed: format!(
                            "step {}: the result {text:?} does not contain {want:?}",
                            step.step
                        ),
                        expected: format!("a result containing {want:?}"),
                    });
                }
                if let Some(banned) = outcome.lacks.as_deref().filter(|b| text.contains(b)) {
                    findings.push(Finding {
                        seq: None,
                        observed: format!(
                            "step {}: the result {text:?} contains {banned:?}",
                            step.step
                        ),
                        expected: format!("no result containing {banned:?}"),
                    });
                }
            }
        }
        let outcome = if !findings.is_empty() {
            Outcome::Fail
        } else if examined == 0 {
            Outcome::NotObserved
        } else {
            Outcome::Pass
        };
        Some(Verdict {
            check: "profile.outcomes".into(),
            level: Level::Must,
            version: version.into(),
            citation: format!("the profile `{}` (its domain outcomes)", self.name),
            outcome,
            examined,
            findings,
        })
    }

    /// Read a profile file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read profile `{}`: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("profile `{}`: {}", path.display(), e.message()))
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
