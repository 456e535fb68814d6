//! `subscriptions/listen` (2026-07-28, which replaced the GET stream and
//! `resources/subscribe`): the stream is acknowledged before anything else,
//! every notification on it carries the subscription's id, and it carries only
//! the notification types the client opted in to (never request-scoped ones:
//! progress, log messages).
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use serde_json::Value;

use super::support::{method_of, short};
use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
const SECTION: &str = "basic/patterns/subscriptions";

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "subscriptions.acknowledged_first",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: SECTION,
            quote: "notifications/subscriptions/acknowledged MUST be the first message the server sends carrying the subscription's ID in io.modelcontextprotocol/subscriptionId. The server MUST NOT send any notification on the subscription before acknowledging it.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: acknowledged_first,
    },
    Check {
        id: "subscriptions.tagged",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "basic#meta",
            quote: "On notifications delivered via a subscriptions/listen stream, the server MUST include io.modelcontextprotocol/subscriptionId in _meta so the client can correlate the notification with the originating subscription request (the JSON-RPC id of the subscriptions/listen request).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: notifications_tagged,
    },
    Check {
        id: "subscriptions.only_requested",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: SECTION,
            quote: "Each notification type is opt-in; the server MUST NOT send notification types the client has not explicitly requested. Request-scoped notifications like notifications/progress and notifications/message are not delivered on the listen stream.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: only_requested,
    },
];

/// A `subscriptions/listen` exchange.
struct Listen<'a> {
    exchange: &'a Exchange,
    /// The listen request's JSON-RPC id.
    id: &'a Value,
    /// The filter it asked for.
    filter: &'a Value,
    /// The notifications its stream carried (record, message).
    notes: Vec<(u64, &'a Value)>,
}

/// Each `subscriptions/listen` exchange.
fn listens(a: &Analysis) -> Vec<Listen<'_>> {
    a.exchanges
        .iter()
        .filter_map(|x| {
            let body = x.body.as_ref()?;
            if method_of(body) != Some("subscriptions/listen") {
                return None;
            }
            let id = body.get("id")?;
            let filter = body
                .pointer("/params/notifications")
                .unwrap_or(&Value::Null);
            let notes = x
                .server_messages()
                .filter(|(_, m, _)| m.get("method").is_some() && m.get("id").is_none())
                .map(|(seq, m, _)| (seq, m))
                .collect();
            Some(Listen {
                exchange: x,
                id,
                filter,
                notes,
            })
        })
        .collect()
}

fn subscription_of(note: &Value) -> Option<&Value> {
    note.pointer("/params/_meta")
        .and_then(|m| m.get(SUBSCRIPTION_ID))
}

fn acknowledged_first(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Listen {
        exchange: x, notes, ..
    } in listens(a)
    {
        let Some((seq, first)) = notes.first() else {
            continue; // nothing arrived: the stream or its answer is judged elsewhere
        };
        judged.examined += 1;
        if method_of(first) != Some(ACKNOWLEDGED) {
            judged.findings.push(Finding::at(
                *seq,
                format!(
                    "the listen stream of exchange {} began with {} before any acknowledgement",
                    x.id,
                    short(first)
                ),
                "notifications/subscriptions/acknowledged first",
            ));
        }
    }
    judged
}

fn notifications_tagged(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Listen { id, notes, .. } in listens(a) {
        for (seq, note) in notes {
            judged.examined += 1;
            if subscription_of(note) != Some(id) {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "{} on the listen stream of request {id} carries subscriptionId {}",
                        method_of(note).unwrap_or("a notification"),
                        subscription_of(note).map_or("none".to_owned(), |s| s.to_string())
                    ),
                    format!("_meta.{SUBSCRIPTION_ID} = {id}"),
                ));
            }
        }
    }
    judged
}

/// Whether `filter` opts in to notifications of `method` (for a resource
/// update, of its `uri`).
fn opted_in(filter: &Value, method: &str, note: &Value) -> bool {
    let flag = |name: &str| filter.get(name).and_then(Value::as_bool) == Some(true);
    match method {
        "notifications/tools/list_changed" => flag("toolsListChanged"),
        "notifications/prompts/list_changed" => flag("promptsListChanged"),
        "notifications/resources/list_changed" => flag("resourcesListChanged"),
        "notifications/resources/updated" => {
            let uri = note.pointer("/params/uri").and_then(Value::as_str);
            filter
                .get("resourceSubscriptions")
                .and_then(Value::as_array)
                .is_some_and(|uris| {
                    uris.iter()
                        .filter_map(Value::as_str)
                        .any(|s| uri.is_some_and(|u| u == s || u.starts_with(s)))
                })
        }
        "notifications/tasks" => filter.get("taskIds").is_some_and(Value::is_array),
        _ => false,
    }
}

fn only_requested(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Listen { filter, notes, .. } in listens(a) {
        for (seq, note) in notes {
            let method = method_of(note).unwrap_or("");
            judged.examined += 1;
            if method == ACKNOWLEDGED {
                // What it agreed to must be a part of what was asked.
                let agreed = note.pointer("/params/notifications");
                let extra: Vec<String> = agreed
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter(|(key, value)| match (key.as_str(), value) {
                        (_, Value::Bool(false)) => false,
                        (_, Value::Array(items)) => items.iter().any(|item| {
                            !filter
                                .get(key.as_str())
                                .and_then(Value::as_array)
                                .is_some_and(|asked| asked.contains(item))
                        }),
                        (key, _) => filter.get(key) != Some(&Value::Bool(true)),
                    })
                    .map(|(key, _)| key.clone())
                    .collect();
                if !extra.is_empty() {
                    judged.findings.push(Finding::at(
                        seq,
                        format!(
                            "the acknowledgement agreed to {} the client did not ask for",
                            extra.join(", ")
                        ),
                        "an acknowledged set within the requested one",
                    ));
                }
                continue;
            }
            if !opted_in(filter, method, note) {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "{method} on a listen stream whose filter {} does not ask for it",
                        short(filter)
                    ),
                    "only the notification types the filter opts in to",
                ));
            }
        }
    }
    judged
}
