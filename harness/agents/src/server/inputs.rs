//! What a multi round-trip retry (2026-07-28) brought back, judged before a
//! tool reads it, as basic/patterns/mrtr ("Error Handling") asks:
//!
//! - an answer must have the shape of its question's result (an `ElicitResult`
//!   for `elicitation/create`, a `CreateMessageResult` for
//!   `sampling/createMessage`, a `ListRootsResult` for `roots/list`), or the
//!   retry is refused as invalid params;
//! - an answer that is missing means the question is asked again, not an error;
//! - answers to questions never asked are ignored.
//!
//! Pure, no I/O.

use std::collections::BTreeMap;

use serde_json::Value;

/// The kind of question asked under one `inputRequests` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// `elicitation/create`.
    Elicitation,
    /// `sampling/createMessage`.
    Sampling,
    /// `roots/list`.
    Roots,
}

/// What the retry carried for the questions asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Gathered {
    /// Some questions have no answer: their keys, to ask again.
    Missing(Vec<String>),
    /// Every question has a well-shaped answer, by key.
    Complete(BTreeMap<String, Value>),
}

/// Judge `responses` (the retry's `inputResponses`) against the questions
/// `asked`; `Err` names the first answer whose shape is wrong.
pub fn gather(
    asked: &[(&str, Asked)],
    responses: Option<&BTreeMap<String, Value>>,
) -> Result<Gathered, String> {
    let mut answers = BTreeMap::new();
    let mut missing = Vec::new();
    for (key, kind) in asked {
        match responses.and_then(|r| r.get(*key)) {
            None | Some(Value::Null) => missing.push((*key).to_owned()),
            Some(answer) => {
                check_shape(*kind, answer)
                    .map_err(|why| format!("inputResponses[`{key}`] {why}"))?;
                answers.insert((*key).to_owned(), answer.clone());
            }
        }
    }
    if missing.is_empty() {
        Ok(Gathered::Complete(answers))
    } else {
        Ok(Gathered::Missing(missing))
    }
}

/// Whether `answer` has the shape of a result of `kind`.
pub fn check_shape(kind: Asked, answer: &Value) -> Result<(), String> {
    let Some(object) = answer.as_object() else {
        return Err(format!("must be an object, got {answer}"));
    };
    match kind {
        Asked::Elicitation => match object.get("action").and_then(Value::as_str) {
            Some("accept") => match object.get("content") {
                None | Some(Value::Object(_)) => Ok(()),
                Some(other) => Err(format!("has content that is not an object: {other}")),
            },
            Some("decline" | "cancel") => Ok(()),
            Some(other) => Err(format!(
                "has action `{other}` (an ElicitResult's action is accept, decline or cancel)"
            )),
            None => Err("is not an ElicitResult: it has no `action`".into()),
        },
        Asked::Sampling => {
            if object.get("role").and_then(Value::as_str).is_none() {
                return Err("is not a CreateMessageResult: it has no `role`".into());
            }
            match object.get("content") {
                Some(Value::Object(_) | Value::Array(_)) => Ok(()),
                _ => Err("is not a CreateMessageResult: it has no `content`".into()),
            }
        }
        Asked::Roots => match object.get("roots").and_then(Value::as_array) {
            Some(roots)
                if roots
                    .iter()
                    .all(|r| r.get("uri").is_some_and(Value::is_string)) =>
            {
                Ok(())
            }
            Some(_) => Err("has a root without a string `uri`".into()),
            None => Err("is not a ListRootsResult: it has no `roots` array".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn responses(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn answers_are_gathered_and_extras_ignored() {
        let got = gather(
            &[("dates", Asked::Elicitation), ("folder", Asked::Roots)],
            Some(&responses(json!({
                "dates": {"action": "accept", "content": {"start": "2026-07-28"}},
                "folder": {"roots": [{"uri": "file:///w"}]},
                "unasked": 12
            }))),
        )
        .unwrap();
        let Gathered::Complete(answers) = got else {
            panic!("{got:?}")
        };
        assert_eq!(answers.len(), 2);
    }

    #[test]
    fn a_missing_answer_is_asked_again_not_refused() {
        let asked = [("dates", Asked::Elicitation), ("folder", Asked::Roots)];
        let got = gather(
            &asked,
            Some(&responses(json!({"dates": {"action": "decline"}}))),
        );
        assert_eq!(got, Ok(Gathered::Missing(vec!["folder".into()])));
        assert_eq!(
            gather(&asked, None),
            Ok(Gathered::Missing(vec!["dates".into(), "folder".into()]))
        );
    }

    #[test]
    fn a_misshapen_answer_is_refused_with_its_key() {
        let asked = [("summary", Asked::Sampling)];
        let err = gather(&asked, Some(&responses(json!({"summary": 12345})))).unwrap_err();
        assert!(err.contains("`summary`"), "{err}");
        for bad in [
            json!({"action": "maybe"}),
            json!({"content": {}}),
            json!({"action": "accept", "content": "yes"}),
        ] {
            assert!(check_shape(Asked::Elicitation, &bad).is_err(), "{bad}");
        }
        assert!(check_shape(Asked::Sampling, &json!({"role": "assistant"})).is_err());
        assert!(check_shape(Asked::Roots, &json!({"roots": [{"name": "x"}]})).is_err());
        assert!(check_shape(Asked::Roots, &json!({"roots": []})).is_ok());
    }
}
