//! What the reference agents declare besides calling their tools, so that a
//! discovery walk has everything to exercise: lists served in pages (opaque
//! cursors, an invalid one refused with -32602), three prompts with a required
//! argument (one asks the client first, as a multi round-trip request), a static resource, and completions for prompt arguments and the
//! run template. Pure functions: the handler in `super` does the I/O.

use serde_json::{Value, json};

/// Items per page of `tools/list` (three tools: two pages, so a client's
/// cursor handling is exercised on every discovery).
pub const TOOLS_PAGE: usize = 2;

/// The static resource every server of ours has.
pub const ABOUT_URI: &str = "harness://about";

/// The text of [`ABOUT_URI`].
pub const ABOUT_TEXT: &str = "mcp-harness reference agents: travel_agent asks to confirm a price \
(elicitation), research_agent asks the host's model for a summary (sampling), long_running_agent \
logs each step, itinerary_agent asks several questions at once and over two rounds (roots among \
them). Every call is a durable run at harness://runs/{id}.";

const CURSOR_PREFIX: &str = "page-from-";

/// One page of `items` from `cursor` (none: the first page) and the cursor of
/// the next page, if there is one; `Err` for a cursor this server did not issue.
pub fn page<T: Clone>(
    items: &[T],
    cursor: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), String> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n > 0 && *n < items.len())
            .ok_or_else(|| {
                format!("invalid cursor `{c}` (hint: send back a nextCursor exactly as received)")
            })?,
    };
    let end = (start + size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| format!("{CURSOR_PREFIX}{end}"));
    Ok((items[start..end].to_vec(), next))
}

/// A prompt argument: name, description, required.
type PromptArgument = (&'static str, &'static str, bool);

/// The prompts: name, description, arguments.
const PROMPTS: &[(&str, &str, &[PromptArgument])] = &[
    (
        "plan_trip",
        "Ask the travel agent to plan and book a trip",
        &[
            ("destination", "Where to go", true),
            ("notes", "Anything the agent should know", false),
        ],
    ),
    (
        "research_brief",
        "Ask the research agent for a brief on a topic",
        &[("topic", "What to research", true)],
    ),
    (
        BRIEF_PROMPT,
        "A short brief for a trip; in 2026-07-28 it first asks the traveller's name (elicitation, as a multi round-trip request)",
        &[("destination", "Where to go", true)],
    ),
];

/// The prompt that asks the client something before it is returned.
pub const BRIEF_PROMPT: &str = "trip_brief";

/// The `inputRequests` key of [`BRIEF_PROMPT`]'s question.
pub const TRAVELLER: &str = "traveller";

/// The question [`BRIEF_PROMPT`] asks, as an `inputRequests` entry.
pub fn traveller_question() -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": "Who is travelling?",
            "requestedSchema": {
                "type": "object",
                "properties": {"name": {"type": "string", "title": "Your name"}},
                "required": ["name"]
            }
        }
    })
}

/// The traveller's name in an answer to [`traveller_question`] ("the
/// traveller" when declined or dismissed).
pub fn traveller_name(answer: &Value) -> String {
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => answer
            .pointer("/content/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("the traveller")
            .to_owned(),
        _ => "the traveller".into(),
    }
}

/// Destinations offered as completions of `plan_trip`'s `destination`.
const DESTINATIONS: &[&str] = &[
    "Lisbon", "London", "Lyon", "Paris", "Porto", "Prague", "Rome",
];

/// Topics offered as completions of `research_brief`'s `topic`.
const TOPICS: &[&str] = &[
    "AI trends",
    "resumable streams",
    "retry policies",
    "rate limits",
];

/// `prompts/list` items.
pub fn prompts() -> Vec<Value> {
    PROMPTS
        .iter()
        .map(|(name, description, arguments)| {
            let arguments: Vec<Value> = arguments
                .iter()
                .map(|(name, description, required)| {
                    json!({"name": name, "description": description, "required": required})
                })
                .collect();
            json!({"name": name, "description": description, "arguments": arguments})
        })
        .collect()
}

/// The `prompts/get` result for `name` with `arguments`; `Err` for an unknown
/// prompt or a missing required argument (both invalid params).
pub fn prompt(name: &str, arguments: &serde_json::Map<String, Value>) -> Result<Value, String> {
    let Some((_, description, declared)) = PROMPTS.iter().find(|(n, _, _)| *n == name) else {
        let known: Vec<&str> = PROMPTS.iter().map(|(n, _, _)| *n).collect();
        return Err(format!(
            "unknown prompt `{name}` (hint: this server has {})",
            known.join(", ")
        ));
    };
    let text = |key: &str| arguments.get(key).and_then(Value::as_str).unwrap_or("");
    if let Some((missing, _, _)) = declared
        .iter()
        .find(|(arg, _, required)| *required && text(arg).is_empty())
    {
        return Err(format!("prompt `{name}` needs the argument `{missing}`"));
    }
    let ask = match name {
        "plan_trip" => {
            let notes = match text("notes") {
                "" => String::new(),
                notes => format!(" Notes: {notes}"),
            };
            format!(
                "Plan a trip to {} with travel_agent and confirm the price before booking.{notes}",
                text("destination")
            )
        }
        BRIEF_PROMPT => {
            let traveller = match text(TRAVELLER) {
                "" => "the traveller",
                name => name,
            };
            format!(
                "Write a short brief for {traveller}'s trip to {}: what to pack, what to see.",
                text("destination")
            )
        }
        _ => format!(
            "Research {} with research_agent and summarize the key findings.",
            text("topic")
        ),
    };
    Ok(json!({
        "description": description,
        "messages": [{"role": "user", "content": {"type": "text", "text": ask}}]
    }))
}

/// Completion values for argument `argument` of the prompt `prompt`, those
/// starting with `prefix` (case-insensitive); `None` for an argument without
/// completions.
pub fn complete_prompt_argument(prompt: &str, argument: &str, prefix: &str) -> Option<Vec<String>> {
    let values = match (prompt, argument) {
        ("plan_trip", "destination") => DESTINATIONS,
        ("research_brief", "topic") => TOPICS,
        _ => return None,
    };
    Some(starting_with(values.iter().copied(), prefix))
}

/// The values of `values` that start with `prefix`, ignoring case.
pub fn starting_with<'a>(values: impl Iterator<Item = &'a str>, prefix: &str) -> Vec<String> {
    let prefix = prefix.to_lowercase();
    values
        .filter(|v| v.to_lowercase().starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// A `completion/complete` result of `values` (at most 100, as the spec
/// requires; `hasMore` when there were more).
pub fn completion(values: Vec<String>) -> Value {
    let total = values.len();
    let shown: Vec<String> = values.into_iter().take(100).collect();
    json!({"completion": {"values": shown, "total": total, "hasMore": total > 100}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_cursors_to_the_end() {
        let items = [1, 2, 3];
        let (first, next) = page(&items, None, 2).unwrap();
        assert_eq!(first, [1, 2]);
        let (second, last) = page(&items, next.as_deref(), 2).unwrap();
        assert_eq!(second, [3]);
        assert_eq!(last, None);
        assert!(page(&items, Some("page-from-7"), 2).is_err());
        assert!(page(&items, Some("junk"), 2).is_err());
        assert!(page(&items, Some("page-from-0"), 2).is_err());
        let (all, none) = page(&items, None, 10).unwrap();
        assert_eq!((all.len(), none), (3, None));
    }

    #[test]
    fn a_prompt_needs_its_required_arguments() {
        let mut args = serde_json::Map::new();
        assert!(
            prompt("plan_trip", &args)
                .unwrap_err()
                .contains("destination")
        );
        args.insert("destination".into(), json!("Porto"));
        let got = prompt("plan_trip", &args).unwrap();
        assert!(
            got["messages"][0]["content"]["text"]
                .as_str()
                .unwrap()
                .contains("Porto")
        );
        assert!(prompt("nope", &args).is_err());
    }

    #[test]
    fn completions_filter_by_prefix_and_stop_at_100() {
        assert_eq!(
            complete_prompt_argument("plan_trip", "destination", "p").unwrap(),
            ["Paris", "Porto", "Prague"]
        );
        assert_eq!(complete_prompt_argument("plan_trip", "notes", ""), None);
        let many: Vec<String> = (0..150).map(|n| n.to_string()).collect();
        let result = completion(many);
        assert_eq!(
            result["completion"]["values"].as_array().unwrap().len(),
            100
        );
        assert_eq!(result["completion"]["hasMore"], json!(true));
    }
}
