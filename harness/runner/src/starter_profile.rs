//! The starter profile `mcp-harness profile` prints: from a server's listed
//! tools, a guess of the tool that plays each role (by the words of its name
//! and description), arguments filled from schema defaults and required
//! fields, and every tool with its schema as a comment, for the user to
//! confirm. Pure functions: the command does the listing.

use serde_json::{Map, Value, json};

use crate::scenario::Role;

/// Words that suggest each role, strongest first.
const CLUES: &[(Role, &[&str])] = &[
    (
        Role::Elicits,
        &[
            "elicit", "confirm", "approve", "approval", "book", "ask", "travel", "purchase",
            "order", "form",
        ],
    ),
    (
        Role::Samples,
        &[
            "sampl",
            "summar",
            "research",
            "llm",
            "model",
            "generate",
            "completion",
            "write",
        ],
    ),
    (
        Role::MultiRound,
        &[
            "itinerary",
            "multi_round",
            "multi-round",
            "wizard",
            "several",
            "roots",
        ],
    ),
    (
        Role::Progress,
        &[
            "progress", "step", "long", "task", "job", "batch", "process", "run", "slow",
        ],
    ),
    (
        Role::LongRunning,
        &[
            "long", "step", "log", "batch", "job", "task", "slow", "progress",
        ],
    ),
];

/// The guess for one role: the tool and the word that chose it.
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    /// The role.
    pub role: Role,
    /// The tool's name.
    pub tool: String,
    /// The clue found in its name or description.
    pub clue: String,
    /// Arguments to call it with.
    pub arguments: Value,
}

fn text_of(tool: &Value) -> String {
    let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
    let description = tool
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{name} {description}").to_lowercase()
}

/// The tool that most likely plays `role`: the first clue (strongest first)
/// found in a tool's name, then in its description. `taken` are tools already
/// given to elicits or samples, which need a tool of their own.
fn guess_one(role: Role, tools: &[Value], taken: &[String]) -> Option<Guess> {
    let clues = CLUES.iter().find(|(r, _)| *r == role)?.1;
    for clue in clues {
        for in_name in [true, false] {
            let found = tools.iter().find(|tool| {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
                let haystack = if in_name {
                    name.to_lowercase()
                } else {
                    text_of(tool)
                };
                haystack.contains(clue) && !taken.iter().any(|t| t == name)
            });
            if let Some(tool) = found {
                let name = tool
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                return Some(Guess {
                    role,
                    tool: name,
                    clue: (*clue).to_owned(),
                    arguments: arguments_for(tool.get("inputSchema").unwrap_or(&Value::Null)),
                });
            }
        }
    }
    None
}

/// A guess for every role some tool may play.
pub fn guess_roles(tools: &[Value]) -> Vec<Guess> {
    let mut guesses = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    for role in Role::ALL {
        // Progress and long-running may share a tool; the questions may not.
        let exclusive = matches!(role, Role::Elicits | Role::Samples | Role::MultiRound);
        let avoid: &[String] = if exclusive || role == Role::Progress {
            &taken
        } else {
            &[]
        };
        if let Some(guess) = guess_one(role, tools, avoid) {
            if exclusive {
                taken.push(guess.tool.clone());
            }
            guesses.push(guess);
        }
    }
    guesses
}

/// Arguments for a tool with `schema`: each property's default, and a
/// placeholder of the right type for required ones without a default.
pub fn arguments_for(schema: &Value) -> Value {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut arguments = Map::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            if let Some(default) = property.get("default") {
                arguments.insert(name.clone(), default.clone());
            } else if required.contains(&name.as_str()) {
                arguments.insert(name.clone(), placeholder(property));
            }
        }
    }
    Value::Object(arguments)
}

/// A value of `property`'s type: its first enum value, its minimum, or a
/// plain example.
fn placeholder(property: &Value) -> Value {
    if let Some(first) = property.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    if let Some(value) = property.get("const") {
        return value.clone();
    }
    let kind = match property.get("type") {
        Some(Value::Array(kinds)) => kinds.iter().find_map(Value::as_str).unwrap_or("string"),
        Some(Value::String(kind)) => kind.as_str(),
        _ => "string",
    };
    match kind {
        "integer" | "number" => property.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(true),
        "array" => json!([]),
        "object" => arguments_for(property),
        "null" => Value::Null,
        _ => json!("example"),
    }
}

/// `value` as TOML inline syntax (`null`, which TOML lacks, as the string "null").
pub fn inline_toml(value: &Value) -> String {
    match value {
        Value::Null => "\"null\"".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => toml::Value::String(s.clone()).to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline_toml).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) if fields.is_empty() => "{}".to_owned(),
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline_toml(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    }
}

fn role_job(role: Role) -> &'static str {
    match role {
        Role::Progress => "sends progress notifications",
        Role::Elicits => "asks the user through elicitation",
        Role::Samples => "asks the host's model through sampling",
        Role::LongRunning => "runs many steps and logs",
        Role::MultiRound => "asks several questions at once and over several rounds",
        Role::Notifies => "makes the server notify outside any request (on the GET stream)",
    }
}

/// The starter profile for a server called `server` (reached by `source`)
/// that lists `tools`.
pub fn render(server: &str, source: &str, tools: &[Value]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Starter profile for {server} ({source}), written by `mcp-harness profile`.\n\
         # The roles below are guesses from the tools' names and descriptions: confirm each\n\
         # (the tool, its arguments) before you rely on it. A role left commented out has no\n\
         # tool, and the scenarios that need it are skipped. Then:\n\
         #   mcp-harness run --server-... --profile THIS_FILE\n"
    ));
    out.push_str(&format!("name = {}\n", inline_toml(&json!(server))));
    let guesses = guess_roles(tools);
    for role in Role::ALL {
        out.push('\n');
        let key = role.name();
        match guesses.iter().find(|g| g.role == role) {
            Some(guess) => {
                out.push_str(&format!(
                    "# {key}: a tool that {}; guessed from \"{}\" in `{}`\n",
                    role_job(role),
                    guess.clue,
                    guess.tool
                ));
                out.push_str(&format!("[roles.{key}]\n"));
                out.push_str(&format!("tool = {}\n", inline_toml(&json!(guess.tool))));
                out.push_str(&format!("arguments = {}\n", inline_toml(&guess.arguments)));
                if role == Role::Elicits {
                    out.push_str(
                        "# accept_content = { }  # the form content to answer with when accepting its question\n",
                    );
                }
            }
            None => {
                out.push_str(&format!(
                    "# {key}: a tool that {}; none of the tools looks like one\n",
                    role_job(role)
                ));
                out.push_str(&format!(
                    "# [roles.{key}]\n# tool = \"\"\n# arguments = {{}}\n"
                ));
            }
        }
    }
    out.push_str(&format!(
        "\n# The {} tool(s) the server lists:\n",
        tools.len()
    ));
    for tool in tools {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or("?");
        let description = tool
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .replace('\n', " ");
        out.push_str(&format!("# - {name}: {description}\n"));
        for key in ["inputSchema", "outputSchema"] {
            if let Some(schema) = tool.get(key) {
                out.push_str(&format!("#   {key}: {schema}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn tool(name: &str, description: &str, schema: Value) -> Value {
        json!({"name": name, "description": description, "inputSchema": schema})
    }

    #[test]
    fn arguments_come_from_defaults_and_required_fields() {
        let schema = json!({"type": "object", "required": ["city", "nights", "mode"], "properties": {
            "city": {"type": "string"},
            "nights": {"type": "integer", "minimum": 2},
            "mode": {"enum": ["fast", "slow"]},
            "notes": {"type": "string", "default": ""},
            "extra": {"type": "string"}
        }});
        assert_eq!(
            arguments_for(&schema),
            json!({"city": "example", "nights": 2, "mode": "fast", "notes": ""})
        );
        assert_eq!(arguments_for(&Value::Null), json!({}));
    }

    #[test]
    fn roles_are_guessed_from_names_then_descriptions() {
        let tools = [
            tool(
                "book_flight",
                "Books a flight after the user confirms",
                json!({}),
            ),
            tool(
                "digest",
                "Summarizes a document with the host's model",
                json!({}),
            ),
            tool("crunch", "A long job with progress", json!({})),
            tool("add", "Adds two numbers", json!({})),
        ];
        let guesses = guess_roles(&tools);
        let of = |role| {
            guesses
                .iter()
                .find(|g| g.role == role)
                .map(|g| g.tool.as_str())
        };
        assert_eq!(of(Role::Elicits), Some("book_flight"));
        assert_eq!(of(Role::Samples), Some("digest"));
        assert_eq!(of(Role::Progress), Some("crunch"));
        assert_eq!(of(Role::LongRunning), Some("crunch"));
        assert!(guess_roles(&[tool("add", "Adds two numbers", json!({}))]).is_empty());
    }

    #[test]
    fn the_starter_profile_is_a_profile_that_loads() {
        let tools = [
            tool(
                "travel_agent",
                "Plan a trip",
                json!({"type": "object", "properties": {"destination": {"type": "string", "default": "Paris"}}}),
            ),
            tool(
                "a \"quoted\" tool",
                "odd name\nsecond line",
                json!({"type": "object"}),
            ),
        ];
        let text = render("my \"server\"", "http://127.0.0.1:1/mcp", &tools);
        let profile: Profile = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(profile.name, "my \"server\"");
        let elicits = &profile.roles[&Role::Elicits];
        assert_eq!(elicits.tool, "travel_agent");
        assert_eq!(elicits.arguments, json!({"destination": "Paris"}));
        assert!(!profile.roles.contains_key(&Role::Samples));
        assert!(text.contains("# - travel_agent: Plan a trip"));
        assert!(text.contains("odd name second line"));
    }

    #[test]
    fn inline_toml_round_trips_through_the_toml_parser() {
        let value = json!({"a": [1, 2.5, "x\"y"], "b c": {"d": true}, "e": {}});
        let text = format!("v = {}", inline_toml(&value));
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(serde_json::to_value(&parsed["v"]).unwrap(), value);
    }
}
