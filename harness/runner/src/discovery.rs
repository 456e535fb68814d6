//! Discovery: walks what a server declares, without side effects, through the
//! scripted client. Lists are read page by page to the end; listed resources
//! are read, prompts got with their required arguments filled in, arguments
//! completed. Tools are listed, never called: a call may have effects only a
//! profile can vouch for. What the walk sees is judged by the checks from the
//! transcript; this module only says what it did, for the step's line.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::client::ScriptedClient;
use crate::scenario::DiscoverWhat;

/// Pages a list may have before the walk stops (a server whose cursors never
/// end would otherwise keep it forever).
pub const MAX_PAGES: usize = 50;

/// What one list walk brought back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    /// Every item of every page, in order.
    pub items: Vec<Value>,
    /// Pages read.
    pub pages: usize,
    /// Why the walk stopped before the last page, if it did.
    pub stopped: Option<String>,
}

/// Why a request of the walk has no result.
#[derive(Debug, thiserror::Error)]
pub enum NoResult {
    /// The server answered with a JSON-RPC error.
    #[error("{method} answered with error {code}: {message}")]
    Error {
        /// The request's method.
        method: String,
        /// The error's code.
        code: Value,
        /// The error's message.
        message: String,
    },
    /// The server answered with neither.
    #[error("{method} answered with neither result nor error")]
    Neither {
        /// The request's method.
        method: String,
    },
    /// No answer came.
    #[error("{method}: {cause}")]
    Unanswered {
        /// The request's method.
        method: String,
        /// What went wrong.
        cause: crate::client::ClientError,
    },
}

/// What answers a request of the walk: its result, or why there is none.
type Answer = Result<Value, NoResult>;

async fn ask(client: &mut ScriptedClient, method: &str, params: Value) -> Answer {
    let method = method.to_owned();
    match client.send_request(&method, Some(&params)).await {
        Ok(answer) => match (answer.get("result"), answer.get("error")) {
            (Some(result), _) => Ok(result.clone()),
            (None, Some(error)) => Err(NoResult::Error {
                method,
                code: error["code"].clone(),
                message: error["message"].as_str().unwrap_or("").to_owned(),
            }),
            (None, None) => Err(NoResult::Neither { method }),
        },
        Err(cause) => Err(NoResult::Unanswered { method, cause }),
    }
}

/// What a walk did: a line saying so, and whether every request the server
/// should have answered was (when not, the checks say which rule broke).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// What was listed, read, got or completed, or how it failed.
    pub line: String,
    /// Whether every request was answered with a result.
    pub answered: bool,
}

/// Read every page of `method`, the items under `key`.
pub async fn list_all(client: &mut ScriptedClient, method: &str, key: &str) -> Listing {
    let mut listing = Listing::default();
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    while listing.pages < MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let page = match ask(client, method, params).await {
            Ok(page) => page,
            Err(e) => {
                listing.stopped = Some(e.to_string());
                return listing;
            }
        };
        listing.pages += 1;
        if let Some(items) = page.get(key).and_then(Value::as_array) {
            listing.items.extend(items.iter().cloned());
        }
        match page.get("nextCursor").and_then(Value::as_str) {
            None => return listing,
            Some(next) if !seen.insert(next.to_owned()) => {
                listing.stopped = Some(format!("{method} gave the cursor `{next}` a second time"));
                return listing;
            }
            Some(next) => cursor = Some(next.to_owned()),
        }
    }
    listing.stopped = Some(format!("{method} had more than {MAX_PAGES} pages"));
    listing
}

fn names(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.get(key).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn summary(what: &str, listing: &Listing) -> String {
    let mut line = format!(
        "{} {what} on {} page{}",
        listing.items.len(),
        listing.pages,
        if listing.pages == 1 { "" } else { "s" }
    );
    if let Some(why) = &listing.stopped {
        line.push_str(&format!(" (stopped: {why})"));
    }
    line
}

/// The first variable of an RFC 6570 URI template (`harness://runs/{id}` ->
/// `id`), operators stripped.
pub fn first_template_variable(template: &str) -> Option<String> {
    let start = template.find('{')? + 1;
    let end = start + template[start..].find('}')?;
    let inner = template[start..end].trim_start_matches(['+', '#', '.', '/', ';', '?', '&']);
    let name = inner.split([',', ':', '*']).next()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Arguments for `prompts/get` of `prompt`: every required argument filled
/// with a placeholder, the others left out.
pub fn prompt_arguments(prompt: &Value) -> Value {
    let mut arguments = serde_json::Map::new();
    for argument in prompt
        .get("arguments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if argument.get("required").and_then(Value::as_bool) == Some(true)
            && let Some(name) = argument.get("name").and_then(Value::as_str)
        {
            arguments.insert(name.to_owned(), json!("example"));
        }
    }
    Value::Object(arguments)
}

/// Walk `what`, reading, getting or completing the `first` items listed.
pub async fn walk(client: &mut ScriptedClient, what: DiscoverWhat, first: usize) -> Walked {
    let modern = client.modern();
    match what {
        DiscoverWhat::Tools => {
            let listing = list_all(client, "tools/list", "tools").await;
            let mut line = summary("tools", &listing);
            if modern && listing.stopped.is_none() {
                // 2026-07-28 lists are cacheable: a second listing must agree.
                let again = list_all(client, "tools/list", "tools").await;
                let same = names(&again.items, "name") == names(&listing.items, "name");
                line.push_str(if same {
                    "; listed again: same order"
                } else {
                    "; listed again: another order"
                });
            }
            Report::new(line, listing.stopped).end()
        }
        DiscoverWhat::Resources => {
            let listing = list_all(client, "resources/list", "resources").await;
            let templates = list_all(client, "resources/templates/list", "resourceTemplates").await;
            let line = format!(
                "{}; {}",
                summary("resources", &listing),
                summary("templates", &templates)
            );
            let mut report =
                Report::new(line, listing.stopped.clone().or(templates.stopped.clone()));
            for uri in names(&listing.items, "uri").into_iter().take(first) {
                let answer = ask(client, "resources/read", json!({ "uri": uri })).await;
                report.answer(&format!("read {uri}"), answer, "/contents", "part(s)");
            }
            report.end()
        }
        DiscoverWhat::Prompts => {
            let listing = list_all(client, "prompts/list", "prompts").await;
            let mut report = Report::new(summary("prompts", &listing), listing.stopped.clone());
            for prompt in listing.items.iter().take(first) {
                let Some(name) = prompt.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let params = json!({ "name": name, "arguments": prompt_arguments(prompt) });
                let answer = ask(client, "prompts/get", params).await;
                report.answer(&format!("got {name}"), answer, "/messages", "message(s)");
            }
            report.end()
        }
        DiscoverWhat::Completions => {
            let mut refs: Vec<(Value, String)> = Vec::new();
            let prompts = list_all(client, "prompts/list", "prompts").await;
            for prompt in prompts.items.iter().take(first) {
                let argument = prompt.pointer("/arguments/0/name").and_then(Value::as_str);
                if let (Some(name), Some(argument)) =
                    (prompt.get("name").and_then(Value::as_str), argument)
                {
                    refs.push((
                        json!({"type": "ref/prompt", "name": name}),
                        argument.to_owned(),
                    ));
                }
            }
            let templates = list_all(client, "resources/templates/list", "resourceTemplates").await;
            for template in names(&templates.items, "uriTemplate")
                .into_iter()
                .take(first)
            {
                if let Some(variable) = first_template_variable(&template) {
                    refs.push((json!({"type": "ref/resource", "uri": template}), variable));
                }
            }
            if refs.is_empty() {
                return Walked {
                    line: "nothing to complete: no prompt argument, no template variable".into(),
                    answered: true,
                };
            }
            let mut report = Report::new(String::new(), None);
            for (reference, argument) in refs {
                let what = reference
                    .get("name")
                    .or(reference.get("uri"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let params = json!({"ref": reference, "argument": {"name": argument, "value": ""}});
                let answer = ask(client, "completion/complete", params).await;
                let label = format!("completed {what} `{argument}`");
                report.answer(&label, answer, "/completion/values", "value(s)");
            }
            report.end()
        }
    }
}

/// The line a walk builds, and the first thing that went wrong.
struct Report {
    line: String,
    failed: Option<String>,
}

impl Report {
    fn new(line: String, failed: Option<String>) -> Self {
        Self { line, failed }
    }

    /// Note the answer to one request about `what`: the length of the array
    /// at `pointer` in its result (as `unit`), or its error.
    fn answer(&mut self, what: &str, answer: Answer, pointer: &str, unit: &str) {
        if !self.line.is_empty() {
            self.line.push_str("; ");
        }
        match answer {
            Ok(result) => {
                let n = result
                    .pointer(pointer)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                self.line.push_str(&format!("{what}: {n} {unit}"));
            }
            Err(e) => {
                let e = e.to_string();
                self.line.push_str(&format!("{what}: {e}"));
                self.failed.get_or_insert(e);
            }
        }
    }

    fn end(self) -> Walked {
        Walked {
            answered: self.failed.is_none(),
            line: self.line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables_lose_their_operators() {
        assert_eq!(
            first_template_variable("harness://runs/{id}").as_deref(),
            Some("id")
        );
        assert_eq!(
            first_template_variable("file:///{+path}").as_deref(),
            Some("path")
        );
        assert_eq!(first_template_variable("x://{?a,b}").as_deref(), Some("a"));
        assert_eq!(
            first_template_variable("x://{var:3}").as_deref(),
            Some("var")
        );
        assert_eq!(first_template_variable("x://plain"), None);
        assert_eq!(first_template_variable("x://{}"), None);
    }

    #[test]
    fn only_required_prompt_arguments_are_filled() {
        let prompt = json!({"name": "p", "arguments": [
            {"name": "a", "required": true}, {"name": "b"}, {"name": "c", "required": false}
        ]});
        assert_eq!(prompt_arguments(&prompt), json!({"a": "example"}));
        assert_eq!(prompt_arguments(&json!({"name": "q"})), json!({}));
    }
}
