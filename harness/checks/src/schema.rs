//! The official MCP JSON Schemas (vendored in `schemas/<version>/schema.json`,
//! unchanged, with their licence), compiled once per version on first use and
//! shared by every check and thread: which definition a message is judged by,
//! and a one-line account of each way it breaks it. Pure: no I/O, the schemas
//! are compiled into the binary.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, ValidatorMap};
use serde_json::Value;

use crate::analysis::KNOWN_VERSIONS;

/// The schema text of each known version, as published by the specification.
const SCHEMA_TEXTS: [(&str, &str); 5] = [
    (
        "2024-11-05",
        include_str!("../schemas/2024-11-05/schema.json"),
    ),
    (
        "2025-03-26",
        include_str!("../schemas/2025-03-26/schema.json"),
    ),
    (
        "2025-06-18",
        include_str!("../schemas/2025-06-18/schema.json"),
    ),
    (
        "2025-11-25",
        include_str!("../schemas/2025-11-25/schema.json"),
    ),
    (
        "2026-07-28",
        include_str!("../schemas/2026-07-28/schema.json"),
    ),
];

/// How many breaches of one message are reported (the rest are counted).
const MAX_BREACHES_PER_MESSAGE: usize = 3;

/// One way a message breaks its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaBreach {
    /// The definition it was judged by, e.g. `ElicitRequest`.
    pub definition: String,
    /// JSON pointer into the message, e.g. `/params/requestedSchema/properties/tags`
    /// (empty for the message itself).
    pub pointer: String,
    /// The schema keyword that failed, e.g. `type`.
    pub keyword: String,
    /// What the keyword wants, in words.
    pub explanation: String,
}

impl std::fmt::Display for SchemaBreach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(the message)"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{} {pointer}: `{}` {}",
            self.definition, self.keyword, self.explanation
        )
    }
}

/// What one message was judged by, and how it broke it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaJudgement {
    /// The definitions it was validated against (its own first, then the
    /// JSON-RPC envelope); empty for a message that is not JSON-RPC 2.0.
    pub definitions: Vec<String>,
    /// Its breaches, at most a few; `more` counts the rest.
    pub breaches: Vec<SchemaBreach>,
    /// Breaches left out of `breaches`.
    pub more: usize,
}

/// One version's official schema, compiled.
pub struct OfficialSchema {
    version: &'static str,
    validators: ValidatorMap,
    /// `#/$defs/` (2020-12) or `#/definitions/` (draft-07).
    prefix: &'static str,
    /// Request method -> request definition.
    requests: HashMap<String, String>,
    /// Notification method -> notification definition.
    notifications: HashMap<String, String>,
    /// Every definition name.
    names: BTreeSet<String>,
    /// The methods of each side's unions (`ClientRequest`, `ServerNotification`...),
    /// by union name; a union the schema does not define is absent.
    sides: HashMap<&'static str, BTreeSet<String>>,
}

/// The unions that say which side sends which message.
const SIDE_UNIONS: [&str; 4] = [
    "ClientRequest",
    "ClientNotification",
    "ServerRequest",
    "ServerNotification",
];

/// The compiled schema of `version`, or `None` for a version the harness does
/// not know. Compiled on first use, then shared.
pub fn official_schema(version: &str) -> Option<&'static OfficialSchema> {
    static COMPILED: [OnceLock<OfficialSchema>; 5] = [const { OnceLock::new() }; 5];
    let index = KNOWN_VERSIONS.iter().position(|known| *known == version)?;
    Some(COMPILED[index].get_or_init(|| compile(SCHEMA_TEXTS[index].0, SCHEMA_TEXTS[index].1)))
}

fn compile(version: &'static str, text: &str) -> OfficialSchema {
    let document: Value = serde_json::from_str(text).expect("a vendored schema is JSON");
    let (key, prefix) = if document.get("$defs").is_some() {
        ("$defs", "#/$defs/")
    } else {
        ("definitions", "#/definitions/")
    };
    let validators = jsonschema::options()
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .build_map(&document)
        .expect("a vendored schema compiles");
    let mut requests = HashMap::new();
    let mut notifications = HashMap::new();
    let mut names = BTreeSet::new();
    for (name, definition) in document[key].as_object().into_iter().flatten() {
        names.insert(name.clone());
        let Some(method) = definition
            .pointer("/properties/method/const")
            .and_then(Value::as_str)
        else {
            continue;
        };
        // Unions such as `ClientNotification` also fix a method; the message's own
        // definition is the one named after it.
        if name.starts_with("Client") || name.starts_with("Server") {
            continue;
        }
        if name.ends_with("Request") {
            requests.insert(method.to_owned(), name.clone());
        } else if name.ends_with("Notification") {
            notifications.insert(method.to_owned(), name.clone());
        }
    }
    let sides = SIDE_UNIONS
        .iter()
        .filter_map(|union| {
            let members = document[key].get(*union)?.get("anyOf")?.as_array()?;
            let methods = members
                .iter()
                .filter_map(|member| {
                    let name = member.get("$ref")?.as_str()?.rsplit('/').next()?;
                    document[key][name]
                        .pointer("/properties/method/const")?
                        .as_str()
                        .map(str::to_owned)
                })
                .collect();
            Some((*union, methods))
        })
        .collect();
    OfficialSchema {
        version,
        validators,
        prefix,
        requests,
        notifications,
        names,
        sides,
    }
}

impl OfficialSchema {
    /// The version this schema is of.
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// Whether the schema defines `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Why `message` (a request or notification) may not be sent by the server
    /// (`from_server`) or the client: its method is one the schema gives only
    /// to the other side (`initialize` from a server, `elicitation/create`
    /// from a client). A method in neither side's union is not judged here.
    pub fn wrong_side(&self, message: &Value, from_server: bool) -> Option<SchemaBreach> {
        let method = message.get("method")?.as_str()?;
        let kind = if message.get("id").is_some() {
            "Request"
        } else {
            "Notification"
        };
        let (own, other) = if from_server {
            ("Server", "Client")
        } else {
            ("Client", "Server")
        };
        let own_union = format!("{own}{kind}");
        let other_union = format!("{other}{kind}");
        let in_union = |union: &str| {
            self.sides
                .get(union)
                .is_some_and(|methods| methods.contains(method))
        };
        if !in_union(&other_union) || in_union(&own_union) {
            return None;
        }
        let sender = if from_server {
            "the server"
        } else {
            "the client"
        };
        let own_has = if self.sides.contains_key(own_union.as_str()) {
            format!("it is not in `{own_union}`")
        } else {
            format!("this version defines no `{own_union}`")
        };
        Some(SchemaBreach {
            definition: other_union.clone(),
            pointer: "/method".into(),
            keyword: "direction".into(),
            explanation: format!(
                "`{method}` is a {} only the {} sends (`{other_union}`) and {sender} sent it: {own_has}",
                kind.to_lowercase(),
                other.to_lowercase()
            ),
        })
    }

    /// The request definition of `method`, e.g. `CallToolRequest` for `tools/call`.
    pub fn request_definition(&self, method: &str) -> Option<&str> {
        self.requests.get(method).map(String::as_str)
    }

    /// Judge one JSON-RPC message. `answers` is the method of the request a
    /// response answers, when known (a result is judged by it: `CallToolResult`
    /// for `tools/call`). A message that is not JSON-RPC at all is left to
    /// `jsonrpc.well_formed` and judged by nothing here.
    pub fn judge(&self, message: &Value, answers: Option<&str>) -> SchemaJudgement {
        let mut judgement = SchemaJudgement::default();
        // An error without an id (`id: null`, or none): JSON-RPC 2.0 requires
        // null when the request's id could not be read, and the transport lets
        // an HTTP error's body be "a JSON-RPC error response that has no id";
        // the schemas before 2025-11-25 require one. Not judged on its id.
        let idless_error =
            message.get("error").is_some() && message.get("id").is_none_or(Value::is_null);
        for (definition, at) in self.definitions_for(message, answers) {
            let Some(part) = message.pointer(at) else {
                continue;
            };
            let Some(validator) = self.validators.get(&format!("{}{definition}", self.prefix))
            else {
                continue;
            };
            judgement.definitions.push(definition.clone());
            for error in validator.iter_errors(part) {
                let breach = explain(&definition, at, &error);
                let about_id = breach.pointer == "/id"
                    || (breach.keyword == "required" && breach.explanation.contains("\"id\""));
                if idless_error && about_id {
                    continue;
                }
                // The envelope repeats what the message's own definition found.
                let repeated = judgement.breaches.iter().any(|b| {
                    b.pointer == breach.pointer
                        && b.keyword == breach.keyword
                        && b.explanation == breach.explanation
                });
                if repeated {
                    continue;
                }
                if judgement.breaches.len() < MAX_BREACHES_PER_MESSAGE {
                    judgement.breaches.push(breach);
                } else {
                    judgement.more += 1;
                }
            }
        }
        judgement
    }

    /// The definitions a message is judged by, each with the pointer of the part
    /// it judges (`""` the whole message, `/result` a result).
    fn definitions_for(
        &self,
        message: &Value,
        answers: Option<&str>,
    ) -> Vec<(String, &'static str)> {
        let Some(object) = message.as_object() else {
            return Vec::new();
        };
        // Not JSON-RPC 2.0 at all: jsonrpc.well_formed judges it.
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Vec::new();
        }
        // The message's own definition first, then the JSON-RPC envelope.
        let mut judged_by = Vec::new();
        let mut push = |name: &str, at: &'static str| {
            if self.defines(name) {
                judged_by.push((name.to_owned(), at));
            }
        };
        if let Some(method) = object.get("method").and_then(Value::as_str) {
            if object.contains_key("id") {
                if let Some(definition) = self.requests.get(method) {
                    push(definition, "");
                }
                push("JSONRPCRequest", "");
            } else {
                if let Some(definition) = self.notifications.get(method) {
                    push(definition, "");
                }
                push("JSONRPCNotification", "");
            }
        } else if object.contains_key("error") {
            push("JSONRPCError", "");
            push("JSONRPCErrorResponse", "");
        } else if object.contains_key("result") {
            let stem = answers
                .and_then(|method| self.requests.get(method))
                .map(|request| request.trim_end_matches("Request").to_owned());
            if let Some(stem) = stem {
                let whole = format!("{stem}ResultResponse");
                let result = format!("{stem}Result");
                if self.defines(&whole) {
                    push(&whole, "");
                } else if self.defines(&result) {
                    push(&result, "/result");
                } else {
                    push("EmptyResult", "/result");
                }
            }
            push("JSONRPCResponse", "");
            push("JSONRPCResultResponse", "");
        }
        judged_by
    }
}

/// One breach in words: for `anyOf` / `oneOf`, the branch that got furthest, or
/// the types every branch wanted.
fn explain(definition: &str, at: &str, error: &ValidationError<'_>) -> SchemaBreach {
    let (error, explanation) = deepest(error);
    let pointer = format!("{at}{}", error.instance_path().as_str());
    SchemaBreach {
        definition: definition.to_owned(),
        pointer,
        keyword: error.kind().keyword().to_owned(),
        explanation,
    }
}

fn deepest<'e>(error: &'e ValidationError<'_>) -> (&'e ValidationError<'e>, String) {
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => return (error, words(error)),
    };
    let own_depth = depth(error);
    let furthest = branches
        .iter()
        .filter_map(|branch| branch.iter().max_by_key(|e| depth(e)))
        .max_by_key(|e| depth(e));
    if let Some(further) = furthest.filter(|e| depth(e) > own_depth) {
        return deepest(further);
    }
    // Every branch failed at this very value: if each wanted another type, say which.
    let mut wanted = Vec::new();
    for branch in branches {
        let here = branch.iter().find(|e| {
            depth(e) == own_depth && matches!(e.kind(), ValidationErrorKind::Type { .. })
        });
        match here.map(|e| e.kind()) {
            Some(ValidationErrorKind::Type { kind }) => {
                for name in type_names(kind) {
                    if !wanted.contains(&name) {
                        wanted.push(name);
                    }
                }
            }
            _ => {
                wanted.clear();
                break;
            }
        }
    }
    let explanation = if wanted.is_empty() {
        format!("matches none of its {} alternatives", branches.len().max(1))
    } else {
        format!("must be one of {}", wanted.join(", "))
    };
    (error, explanation)
}

fn depth(error: &ValidationError<'_>) -> usize {
    error.instance_path().as_str().matches('/').count()
}

fn type_names(kind: &TypeKind) -> Vec<String> {
    match kind {
        TypeKind::Single(one) => vec![one.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    }
}

/// The keyword's complaint without the instance (which can be huge).
fn words(error: &ValidationError<'_>) -> String {
    match error.kind() {
        ValidationErrorKind::Type { kind } => {
            format!("must be {}", type_names(kind).join(" or "))
        }
        ValidationErrorKind::Required { property } => format!("is missing {property}"),
        ValidationErrorKind::Constant { expected_value } => format!("must be {expected_value}"),
        ValidationErrorKind::Enum { options } => format!("must be one of {options}"),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("allows no property {}", unexpected.join(", "))
        }
        _ => error.masked().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_known_version_compiles_and_maps_its_methods() {
        for version in KNOWN_VERSIONS {
            let schema = official_schema(version).unwrap();
            assert_eq!(
                schema.request_definition("tools/call"),
                Some("CallToolRequest")
            );
        }
        assert!(official_schema("2099-01-01").is_none());
    }

    #[test]
    fn an_error_without_an_id_is_not_judged_on_its_id() {
        for version in KNOWN_VERSIONS {
            let schema = official_schema(version).unwrap();
            for id in [json!(null), json!("absent")] {
                let mut error =
                    json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "no session"}});
                if id.is_null() {
                    error["id"] = id;
                }
                let judged = schema.judge(&error, None);
                assert!(judged.breaches.is_empty(), "{version}: {judged:?}");
            }
            let wrong = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": "x", "message": "m"}});
            assert!(!schema.judge(&wrong, None).breaches.is_empty(), "{version}");
        }
    }

    #[test]
    fn a_message_only_the_other_side_sends_is_a_breach() {
        for version in KNOWN_VERSIONS {
            let schema = official_schema(version).unwrap();
            let initialize =
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}});
            let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": 1, "progress": 1}});
            // From the client: its own.
            assert_eq!(schema.wrong_side(&initialized, false), None, "{version}");
            // From the server: the client's, where the version has them.
            if !crate::is_modern_version(version) {
                let breach = schema.wrong_side(&initialize, true).unwrap();
                assert_eq!(breach.keyword, "direction", "{version}");
                assert!(breach.explanation.contains("`initialize`"), "{breach}");
                assert_eq!(schema.wrong_side(&initialize, false), None, "{version}");
                let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"});
                assert_eq!(
                    schema.wrong_side(&ping, true),
                    None,
                    "{version}: both sides ping"
                );
                assert!(schema.wrong_side(&initialized, true).is_some(), "{version}");
            }
            assert_eq!(
                schema.wrong_side(&progress, true),
                None,
                "{version}: both sides"
            );
            let custom = json!({"jsonrpc": "2.0", "method": "vendor/thing"});
            assert_eq!(
                schema.wrong_side(&custom, true),
                None,
                "{version}: in no union"
            );
        }
        let elicit =
            json!({"jsonrpc": "2.0", "id": 3, "method": "elicitation/create", "params": {}});
        let schema = official_schema("2025-06-18").unwrap();
        assert!(schema.wrong_side(&elicit, false).is_some());
        assert_eq!(schema.wrong_side(&elicit, true), None);
    }

    #[test]
    fn a_result_is_judged_by_the_method_it_answers() {
        let schema = official_schema("2025-06-18").unwrap();
        let bad = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": "not a list"}});
        let judged = schema.judge(&bad, Some("tools/call"));
        assert!(judged.definitions.contains(&"CallToolResult".to_owned()));
        assert_eq!(judged.breaches[0].pointer, "/result/content");
        assert_eq!(judged.breaches[0].keyword, "type");
        let good = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}});
        assert!(schema.judge(&good, Some("tools/call")).breaches.is_empty());
    }

    #[test]
    fn a_multi_select_enum_is_valid_from_2025_11_25_only() {
        let request = json!({"jsonrpc": "2.0", "id": 7, "method": "elicitation/create", "params": {
            "message": "Pick", "requestedSchema": {"type": "object", "properties": {
                "seats": {"type": "array", "items": {"type": "string", "enum": ["window", "aisle"]}}}}}});
        let new = official_schema("2025-11-25").unwrap().judge(&request, None);
        assert!(new.breaches.is_empty(), "{new:?}");
        let old = official_schema("2025-06-18").unwrap().judge(&request, None);
        assert!(!old.breaches.is_empty(), "{old:?}");
    }

    #[test]
    fn an_object_property_names_the_types_a_primitive_may_have() {
        let request = json!({"jsonrpc": "2.0", "id": 7, "method": "elicitation/create", "params": {
            "message": "Tags?", "requestedSchema": {"type": "object", "properties": {
                "tags": {"type": "object"}}}}});
        let judged = official_schema("2025-06-18").unwrap().judge(&request, None);
        let breach = judged.breaches[0].to_string();
        assert!(
            breach.starts_with("ElicitRequest /params/requestedSchema/properties/tags/type: "),
            "{breach}"
        );
    }
}
