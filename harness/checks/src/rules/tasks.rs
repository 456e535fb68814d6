//! Tasks (the 2026-07-28 extension `io.modelcontextprotocol/tasks`, SEP-2663;
//! sections cite its page `extensions/tasks`): legal status transitions, a
//! task result only to a client that declared the extension and only on
//! `tools/call`, `tasks/get` answered with a complete `DetailedTask`,
//! `tasks/update` and `tasks/cancel` acknowledged with an empty result, an
//! unknown task id refused with -32602, and the task methods refused with
//! -32021 to a client that did not declare the extension.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::support::{Answered, answers, delivered_in_order, error_code, method_of, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
const TASK_METHODS: [&str; 3] = ["tasks/get", "tasks/update", "tasks/cancel"];

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "tasks.legal_transitions",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#task-status",
            quote: "Tasks move from working to input_required or a terminal status; terminal statuses are final.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: task_transitions,
    },
    Check {
        id: "tasks.only_if_declared",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#capability-negotiation",
            quote: "A server MUST NOT return CreateTaskResult to a client that did not include the extension capability on its request, regardless of prior declarations. Servers MUST NOT set resultType to \"task\" on result types other than CreateTaskResult (the methods that support tasks: tools/call).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: task_results_only_if_declared,
    },
    Check {
        id: "tasks.get_detailed",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#response",
            quote: "Upon receiving a tasks/get request, the server MUST check the status of the task and respond accordingly: input_required with an inputRequests field that MUST contain all outstanding requests; completed with a result field; failed with the error that occurred. The resultType field MUST be set to \"complete\" on this object.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: get_answers_detailed,
    },
    Check {
        id: "tasks.empty_acknowledgement",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#task-cancellation",
            quote: "On success, the server MUST acknowledge the request with an empty result (tasks/update and tasks/cancel). The resultType field MUST be set to \"complete\" on UpdateTaskResult and CancelTaskResult.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: acknowledgements_empty,
    },
    Check {
        id: "tasks.unknown_id_32602",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#protocol-errors",
            quote: "Servers MUST return standard JSON-RPC errors for the following protocol error cases: Invalid or nonexistent taskId: -32602 (Invalid params). Servers MUST return this error for tasks/get.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: unknown_get_refused,
    },
    Check {
        id: "tasks.unknown_id_refused",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: "extensions/tasks#protocol-errors",
            quote: "Invalid or nonexistent taskId: -32602 (Invalid params). Servers SHOULD return this error for tasks/update and tasks/cancel.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: unknown_update_or_cancel_refused,
    },
    Check {
        id: "tasks.issued_resolves",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#task-creation",
            quote: "A server MUST NOT return CreateTaskResult until the task is durably created — that is, until a tasks/get for the returned taskId would resolve. (Servers MAY delete a task once its ttlMs has elapsed.)",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: issued_tasks_resolve,
    },
    Check {
        id: "tasks.id_unguessable",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#security-considerations",
            quote: "Task ID unguessability. A server MAY use task IDs as bearer tokens for a server's stored state. Servers MUST generate them with sufficient entropy that a third party cannot enumerate or guess them.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: task_ids_unguessable,
    },
    Check {
        id: "tasks.owner_only",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: "extensions/tasks#security-considerations",
            quote: "Auth binding. Servers MUST perform authentication and authorization checks on each task-related request to ensure that the client has permission to access a task. (A warning here: a server with no authentication has no client to bind a task to, and the wire cannot show whether it authenticates.)",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: foreign_task_requests_refused,
    },
    Check {
        id: "tasks.capability_required",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "extensions/tasks#protocol-errors",
            quote: "Missing required client capabilities: -32021 (Missing Required Client Capability). Servers MUST return this error for non-declaring clients issuing tasks/get, tasks/update, and tasks/cancel requests.",
        }],
        needs: Needs::ServerTasks,
        transports: Transports::Both,
        run: undeclared_task_requests_refused,
    },
];

/// Whether `request` declares the tasks extension in its `_meta`.
fn declares_tasks(request: &Value) -> bool {
    request
        .pointer("/params/_meta/io.modelcontextprotocol~1clientCapabilities/extensions")
        .and_then(|e| e.get(TASKS_EXTENSION))
        .is_some()
}

fn result_type(result: &Value) -> Option<&str> {
    result.get("resultType").and_then(Value::as_str)
}

fn task_results_only_if_declared(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for answered in answers(a) {
        let Some(result) = answered.result().filter(|r| result_type(r) == Some("task")) else {
            continue;
        };
        judged.examined += 1;
        let method = method_of(answered.request).unwrap_or("?");
        let problem = if method != "tools/call" {
            Some(format!("{method} answered with a task: {}", short(result)))
        } else if !declares_tasks(answered.request) {
            Some(format!(
                "a tools/call whose _meta does not declare {TASKS_EXTENSION} answered with a task"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            judged.findings.push(Finding::at(
                answered.seq,
                problem,
                "a task only for tools/call, only to a client that declared the tasks extension on that request",
            ));
        }
    }
    judged
}

fn get_answers_detailed(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for answered in answers(a).filter(|x| method_of(x.request) == Some("tasks/get")) {
        let Some(task) = answered.result() else {
            continue;
        };
        judged.examined += 1;
        let status = task.get("status").and_then(Value::as_str);
        let problem = match (result_type(task), status) {
            (rt, _) if rt != Some("complete") => {
                Some(format!("resultType {rt:?}, not \"complete\""))
            }
            (_, Some("input_required")) => task
                .get("inputRequests")
                .and_then(Value::as_object)
                .is_none_or(|r| r.is_empty())
                .then(|| "an input_required task without inputRequests".to_owned()),
            (_, Some("completed")) => (!task.get("result").is_some_and(Value::is_object))
                .then(|| "a completed task without its result".to_owned()),
            (_, Some("failed")) => (!task.get("error").is_some_and(Value::is_object))
                .then(|| "a failed task without its error".to_owned()),
            (_, Some("working" | "cancelled")) => None,
            (_, other) => Some(format!("status {other:?}")),
        };
        if let Some(problem) = problem {
            judged.findings.push(Finding::at(
                answered.seq,
                format!("tasks/get answered {problem}: {}", short(task)),
                "a DetailedTask with resultType \"complete\" and the payload of its status",
            ));
        }
    }
    judged
}

fn acknowledgements_empty(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for answered in answers(a) {
        let method = method_of(answered.request).unwrap_or("");
        if !matches!(method, "tasks/update" | "tasks/cancel") {
            continue;
        }
        let Some(result) = answered.result() else {
            continue;
        };
        judged.examined += 1;
        let extra: Vec<&String> = result
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .filter(|k| !matches!(k.as_str(), "resultType" | "_meta"))
            .collect();
        if result_type(result) != Some("complete") || !extra.is_empty() {
            judged.findings.push(Finding::at(
                answered.seq,
                format!("{method} acknowledged with {}", short(result)),
                "an empty result: resultType \"complete\" (and _meta) only",
            ));
        }
    }
    judged
}

/// Task ids the server issued in this transcript (in the task results of
/// tool calls: a `tasks/get` answer naming an id does not issue it).
fn issued_task_ids(a: &Analysis) -> BTreeSet<String> {
    created_tasks(a).into_keys().collect()
}

fn unknown_get_refused(a: &Analysis) -> Judged {
    unknown_ids_refused(a, &["tasks/get"])
}

fn unknown_update_or_cancel_refused(a: &Analysis) -> Judged {
    unknown_ids_refused(a, &["tasks/update", "tasks/cancel"])
}

fn unknown_ids_refused(a: &Analysis, methods: &[&str]) -> Judged {
    let mut judged = Judged::default();
    let issued = issued_task_ids(a);
    for Answered {
        request,
        seq,
        answer,
        ..
    } in answers(a)
    {
        let method = method_of(request).unwrap_or("");
        if !methods.contains(&method) || !declares_tasks(request) {
            continue;
        }
        let Some(id) = request.pointer("/params/taskId").and_then(Value::as_str) else {
            continue;
        };
        if issued.contains(id) {
            continue;
        }
        judged.examined += 1;
        if error_code(answer) != Some(-32602) {
            judged.findings.push(Finding::at(
                seq,
                format!(
                    "{method} of task `{id}`, which the server never created, answered with {}",
                    short(answer)
                ),
                "error -32602 (Invalid params)",
            ));
        }
    }
    judged
}

/// A task request with another credential than the task's creator had
/// (another fingerprint, or none where the creator sent one) must not be
/// served: an answer with a result reads, answers or cancels another
/// client's task.
fn foreign_task_requests_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let created = created_tasks(a);
    for Answered {
        exchange,
        request,
        seq,
        answer,
    } in answers(a)
    {
        let method = method_of(request).unwrap_or("");
        if !TASK_METHODS.contains(&method) {
            continue;
        }
        let Some(id) = request.pointer("/params/taskId").and_then(Value::as_str) else {
            continue;
        };
        let Some(Created { owner, .. }) = created.get(id) else {
            continue;
        };
        let requester = &exchange.headers.authorization;
        if owner.is_none() || requester == owner {
            continue;
        }
        judged.examined += 1;
        if answer.get("result").is_some() {
            let who = requester.as_deref().unwrap_or("no credential");
            let creator = owner.as_deref().unwrap_or("none");
            judged.findings.push(Finding::at(
                seq,
                format!(
                    "{method} of task `{id}` with another client's credential ({who}; the task's creator sent {creator}) was served: {}",
                    short(answer)
                ),
                "an error: a task is bound to the credential that created it",
            ));
        }
    }
    judged
}

/// A task a tool call created.
struct Created {
    /// When (µs into the recording).
    at_us: u64,
    /// Its `ttlMs` (`None`: unlimited).
    ttl_ms: Option<u64>,
    /// The fingerprint of the credential (`Authorization`) the call carried.
    owner: Option<String>,
}

/// Each task a tool call created, by id.
fn created_tasks(a: &Analysis) -> BTreeMap<String, Created> {
    answers(a)
        .filter(|x| method_of(x.request) == Some("tools/call"))
        .filter_map(|x| {
            let result = x.result().filter(|r| result_type(r) == Some("task"))?;
            let id = result.get("taskId")?.as_str()?.to_owned();
            let created = Created {
                at_us: x.exchange.request_at_us,
                ttl_ms: result.get("ttlMs").and_then(Value::as_u64),
                owner: x.exchange.headers.authorization.clone(),
            };
            Some((id, created))
        })
        .collect()
}

fn issued_tasks_resolve(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let created = created_tasks(a);
    for x in answers(a).filter(|x| method_of(x.request) == Some("tasks/get")) {
        if !declares_tasks(x.request) {
            continue;
        }
        let Some(id) = x.request.pointer("/params/taskId").and_then(Value::as_str) else {
            continue;
        };
        let Some(task) = created.get(id) else {
            continue;
        };
        if task.owner.is_some() && task.owner != x.exchange.headers.authorization {
            continue; // another client's request: refusing it is right (tasks.owner_only)
        }
        let age_ms = x.exchange.request_at_us.saturating_sub(task.at_us) / 1000;
        if task.ttl_ms.is_some_and(|ttl| age_ms > ttl) {
            continue; // it may be gone: its time to live has passed
        }
        judged.examined += 1;
        if error_code(x.answer) == Some(-32602) {
            judged.findings.push(Finding::at(
                x.seq,
                format!(
                    "tasks/get of task `{id}`, created {age_ms} ms before, answered {}",
                    short(x.answer)
                ),
                "the task, until its ttlMs has passed (through restarts too)",
            ));
        }
    }
    judged
}

/// Fewer characters than this cannot hold 64 random bits in hex.
const MIN_TASK_ID_CHARS: usize = 16;

/// Why task id `id` could be guessed, if it could: too short, all digits (a
/// counter), or the previous id with only its digits changed.
fn guessable(id: &str, previous: Option<&str>) -> Option<String> {
    if id.len() < MIN_TASK_ID_CHARS {
        return Some(format!("{} characters", id.len()));
    }
    if id.bytes().all(|b| b.is_ascii_digit()) {
        return Some("all digits, a counter".into());
    }
    let letters = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    if let Some(previous) = previous.filter(|p| *p != id && letters(p) == letters(id)) {
        return Some(format!("the previous id `{previous}` with other digits"));
    }
    None
}

fn task_ids_unguessable(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let mut previous: Option<String> = None;
    for x in answers(a).filter(|x| method_of(x.request) == Some("tools/call")) {
        let Some(id) = x
            .result()
            .filter(|r| result_type(r) == Some("task"))
            .and_then(|r| r.get("taskId"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        judged.examined += 1;
        if let Some(why) = guessable(id, previous.as_deref()) {
            judged.findings.push(Finding::at(
                x.seq,
                format!("task id `{id}` could be guessed: {why}"),
                format!("an id of at least {MIN_TASK_ID_CHARS} characters from a random source"),
            ));
        }
        previous = Some(id.to_owned());
    }
    judged
}

fn undeclared_task_requests_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for Answered {
        request,
        seq,
        answer,
        ..
    } in answers(a)
    {
        let method = method_of(request).unwrap_or("");
        if !TASK_METHODS.contains(&method) || declares_tasks(request) {
            continue;
        }
        judged.examined += 1;
        if error_code(answer) != Some(-32021) {
            judged.findings.push(Finding::at(
                seq,
                format!(
                    "{method} from a client that did not declare {TASKS_EXTENSION} answered with {}",
                    short(answer)
                ),
                "error -32021 (Missing Required Client Capability) naming the extension",
            ));
        }
    }
    judged
}

fn task_transitions(a: &Analysis) -> Judged {
    let terminal = |s: &str| matches!(s, "completed" | "failed" | "cancelled");
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut judged = Judged::default();
    for (seq, _, message) in delivered_in_order(a) {
        let Some(result) = message.get("result") else {
            continue;
        };
        let (Some(id), Some(status)) = (
            result.get("taskId").and_then(Value::as_str),
            result.get("status").and_then(Value::as_str),
        ) else {
            continue;
        };
        judged.examined += 1;
        if let Some(previous) = last.get(id) {
            let legal = if terminal(previous) {
                previous == status
            } else {
                true
            };
            if !legal {
                judged.findings.push(Finding::at(
                    seq,
                    format!("task {id} went from {previous} to {status}"),
                    "a terminal status is final",
                ));
            }
        }
        last.insert(id.to_owned(), status.to_owned());
    }
    judged
}
