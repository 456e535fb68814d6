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
            Role::LongRunning,
            bind("long_running_agent", json!({"steps": 45})),
        );
        Self {
            name: "reference-agents".into(),
            reference: true,
            roles,
        }
    }

    /// A profile with no roles (generic scenarios only).
    pub fn none(name: &str) -> Self {
        Self {
            name: name.into(),
            reference: false,
            roles: BTreeMap::new(),
        }
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
