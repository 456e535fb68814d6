//! What the scripted client puts in its answers to a server's questions
//! (elicitation forms, roots) and, in 2026-07-28 multi round-trip requests, how
//! a first retry departs from the rules on purpose. Pure, no I/O.

use serde_json::{Map, Value, json};

use crate::scenario::FirstRetry;

/// The one root the scripted client shares when asked (`roots/list`).
pub const SCRIPTED_ROOT: &str = "file:///mcp-harness/workspace";

/// The requests a server may answer with an `InputRequiredResult`
/// (basic/patterns/mrtr, "Supported Requests"), besides `tools/call`.
pub const MAY_ASK_FOR_INPUT: [&str; 2] = ["prompts/get", "resources/read"];

/// The key under which answers go that no question asked for.
pub const NOT_ASKED: &str = "mcp-harness-not-asked";

/// The content to accept an elicitation with: the profile's `preferred`
/// content when it fills every required field of `schema`, otherwise a form
/// filled from the schema (the preferred value where it names the field, then
/// the field's default, then a value of its type).
pub fn accept_content_for(schema: Option<&Value>, preferred: &Value) -> Value {
    let Some(properties) = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return preferred.clone();
    };
    let required: Vec<&str> = schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fits = preferred.as_object().is_some_and(|p| {
        required.iter().all(|r| p.contains_key(*r)) && p.keys().all(|k| properties.contains_key(k))
    });
    if fits {
        return preferred.clone();
    }
    let mut content = Map::new();
    for (name, property) in properties {
        let value = preferred
            .get(name)
            .cloned()
            .or_else(|| property.get("default").cloned())
            .unwrap_or_else(|| value_of_type(property));
        content.insert(name.clone(), value);
    }
    Value::Object(content)
}

/// A plausible value for a primitive schema `property`.
fn value_of_type(property: &Value) -> Value {
    if let Some(first) = property
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(first) = property
        .pointer("/oneOf/0/const")
        .or_else(|| property.pointer("/anyOf/0/const"))
    {
        return first.clone();
    }
    match property.get("type").and_then(Value::as_str) {
        Some("boolean") => json!(true),
        Some("integer") | Some("number") => {
            property.get("minimum").cloned().unwrap_or_else(|| json!(1))
        }
        Some("array") => json!([]),
        _ => match property.get("format").and_then(Value::as_str) {
            Some("date") => json!("2026-07-28"),
            Some("date-time") => json!("2026-07-28T09:00:00Z"),
            Some("email") => json!("harness@example.org"),
            Some("uri") => json!("https://example.org/mcp-harness"),
            _ => json!("mcp-harness"),
        },
    }
}

/// The first retry's `responses` and `state`, departed from the rules as
/// `how` says.
pub fn depart(
    how: FirstRetry,
    responses: Map<String, Value>,
    state: &mut Option<Value>,
) -> Map<String, Value> {
    match how {
        FirstRetry::TamperedState => {
            let tampered = match state.as_ref().and_then(Value::as_str) {
                Some(issued) => format!("{issued}-tampered"),
                None => "mcp-harness-tampered".into(),
            };
            *state = Some(json!(tampered));
            responses
        }
        FirstRetry::WrongKeys => {
            let mut wrong = Map::new();
            if let Some(answer) = responses.into_iter().next().map(|(_, a)| a) {
                wrong.insert(NOT_ASKED.into(), answer);
            }
            wrong
        }
        FirstRetry::ExtraKeys => {
            let mut extra = responses;
            extra.insert(
                NOT_ASKED.into(),
                json!({"action": "accept", "content": {"unasked": true}}),
            );
            extra
        }
        FirstRetry::InvalidResponses => responses
            .into_iter()
            .map(|(key, _)| (key, json!(12345)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preferred_answer_that_fits_is_kept() {
        let schema = json!({"type": "object", "properties": {"confirm": {"type": "boolean"}, "notes": {"type": "string"}}, "required": ["confirm"]});
        let preferred = json!({"confirm": true, "notes": "window seat"});
        assert_eq!(accept_content_for(Some(&schema), &preferred), preferred);
        assert_eq!(accept_content_for(None, &preferred), preferred);
    }

    #[test]
    fn a_form_it_does_not_fit_is_filled_from_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "start": {"type": "string", "format": "date"},
            "nights": {"type": "integer", "minimum": 1, "default": 3},
            "seat": {"type": "string", "enum": ["window", "aisle"]},
            "name": {"type": "string"}
        }, "required": ["start"]});
        let got = accept_content_for(Some(&schema), &json!({"confirm": true, "name": "Ada"}));
        assert_eq!(
            got,
            json!({"start": "2026-07-28", "nights": 3, "seat": "window", "name": "Ada"})
        );
    }

    #[test]
    fn each_departure_breaks_one_rule() {
        let answers: Map<String, Value> =
            serde_json::from_value(json!({"dates": {"action": "accept", "content": {}}})).unwrap();
        let mut state = Some(json!("sealed"));
        let same = depart(FirstRetry::TamperedState, answers.clone(), &mut state);
        assert_eq!(
            (same, state),
            (answers.clone(), Some(json!("sealed-tampered")))
        );

        let mut state = None;
        let wrong = depart(FirstRetry::WrongKeys, answers.clone(), &mut state);
        assert!(wrong.contains_key(NOT_ASKED) && !wrong.contains_key("dates"));
        let extra = depart(FirstRetry::ExtraKeys, answers.clone(), &mut state);
        assert!(extra.contains_key(NOT_ASKED) && extra.contains_key("dates"));
        let invalid = depart(FirstRetry::InvalidResponses, answers, &mut state);
        assert_eq!(invalid["dates"], json!(12345));
        assert_eq!(state, None);
    }
}
