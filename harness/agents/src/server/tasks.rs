//! 2026-07-28 tasks (`io.modelcontextprotocol/tasks`): a tool call that runs in
//! the background as a run, waits for `tasks/update` when it has a question, and
//! reads back through `tasks/get`, also after a restart (as failed: interrupted).

use std::collections::HashMap;
use std::sync::Mutex;

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolResult, ContentBlock, CreateTaskResult, DetailedTask, InputResponses, Task,
    TaskPayload, TaskStatus,
};
use serde_json::json;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::flows::{self, ToolArgs};
use super::{ReferenceAgents, rfc3339};
use crate::runs::{RunRecord, RunStatus};

/// How often a client should poll `tasks/get`, in milliseconds.
const POLL_INTERVAL_MS: u64 = 200;

/// Tasks that wait for an answer (under which `inputRequests` key), and how
/// to cancel running tasks.
#[derive(Default)]
pub struct TaskBoard {
    waiting: Mutex<HashMap<String, (String, oneshot::Sender<InputResponses>)>>,
    cancels: Mutex<HashMap<String, CancellationToken>>,
}

impl TaskBoard {
    /// Deliver `responses` to task `id` if they answer its outstanding
    /// question; anything else (a key never asked or already answered, a task
    /// not waiting) is ignored, as the extension says a server SHOULD.
    pub fn answer(&self, id: &str, mut responses: InputResponses) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let answers = waiting
            .get(id)
            .is_some_and(|(key, _)| responses.contains_key(key));
        if !answers {
            return;
        }
        if let Some((key, waiter)) = waiting.remove(id) {
            let mut only = InputResponses::new();
            if let Some(answer) = responses.remove(&key) {
                only.insert(key, answer);
            }
            let _ = waiter.send(only);
        }
    }

    /// Ask task `id` to stop.
    pub fn cancel(&self, id: &str) {
        if let Some(token) = self
            .cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
        {
            token.cancel();
        }
    }

    fn register(&self, id: &str) -> CancellationToken {
        let token = CancellationToken::new();
        self.cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), token.clone());
        token
    }

    fn wait_for_answer(&self, id: &str, key: &str) -> oneshot::Receiver<InputResponses> {
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), (key.to_owned(), tx));
        rx
    }

    fn forget(&self, id: &str) {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        self.cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// The task methods need a request that declares the extension: -32021
/// (Missing Required Client Capability) naming it otherwise.
pub fn require_extension(
    ctx: &rmcp::service::RequestContext<rmcp::RoleServer>,
) -> Result<(), McpError> {
    let declared = ctx
        .client_capabilities()
        .is_some_and(|c| c.supports_tasks());
    if declared {
        return Ok(());
    }
    Err(McpError::new(
        rmcp::model::ErrorCode(-32021),
        "Missing required client capability: the tasks extension (io.modelcontextprotocol/tasks)",
        Some(
            json!({"requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}),
        ),
    ))
}

/// Start `run` as a task; returns at once with the task's creation result.
pub fn start(agents: ReferenceAgents, run: RunRecord, args: ToolArgs) -> CreateTaskResult {
    let cancel = agents.shared.tasks.register(&run.id);
    let id = run.id.clone();
    let created = task_of(&run);
    tokio::spawn(async move {
        let reporter = agents.reporter(&run, None);
        let work = async {
            if let ToolArgs::LongRunning { steps } = args {
                return agents.long_running(&reporter, steps, None).await;
            }
            let Some(question) = flows::before_question(&reporter, &args).await else {
                return CallToolResult::error(vec![ContentBlock::text("tool asked no question")]);
            };
            let key = question.key();
            let answer_rx = agents.shared.tasks.wait_for_answer(&id, key);
            reporter
                .waiting_for(serde_json::to_value(question.input_requests()).unwrap_or_default())
                .await;
            let limit = agents.shared.settings.input_timeout;
            let answer = match tokio::time::timeout(limit, answer_rx).await {
                Ok(Ok(mut responses)) => responses
                    .remove(key)
                    .ok_or_else(|| format!("tasks/update carried no input response `{key}`")),
                Ok(Err(_)) => Err("the task stopped waiting".to_owned()),
                Err(_) => Err(format!("no answer within the input timeout of {limit:?}")),
            };
            reporter.resumed().await;
            flows::after_answer(&reporter, &args, answer).await
        };
        tokio::select! {
            _ = work => {}
            _ = cancel.cancelled() => {
                let _ = reporter.runs.update(&id, |r| {
                    r.status = RunStatus::Cancelled;
                    r.pending_input = None;
                    r.result = None;
                    r.note = Some("cancelled through tasks/cancel".into());
                }).await;
            }
        }
        agents.shared.tasks.forget(&id);
    });
    CreateTaskResult::new(created)
}

fn task_of(run: &RunRecord) -> Task {
    let status = match (run.status, &run.result) {
        (RunStatus::Working, _) => TaskStatus::Working,
        (RunStatus::InputRequired, _) => TaskStatus::InputRequired,
        (_, Some(_)) => TaskStatus::Completed,
        (RunStatus::Cancelled, None) => TaskStatus::Cancelled,
        _ => TaskStatus::Failed,
    };
    let mut task = Task::new(
        run.id.clone(),
        status,
        rfc3339(run.created_ms),
        rfc3339(run.updated_ms),
    )
    .with_poll_interval_ms(POLL_INTERVAL_MS);
    let message = run.note.clone().or_else(|| run.steps.last().cloned());
    if let Some(message) = message {
        task = task.with_status_message(message);
    }
    task
}

/// The run as a `tasks/get` answer. A run whose tool produced a result (even a
/// tool error, or the user saying no) is `completed`; an interrupted run is `failed`.
pub fn detailed(run: &RunRecord) -> DetailedTask {
    let task = task_of(run);
    let payload = match task.status {
        TaskStatus::Working => TaskPayload::Working,
        TaskStatus::InputRequired => TaskPayload::InputRequired {
            input_requests: run
                .pending_input
                .clone()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default(),
        },
        TaskStatus::Completed => TaskPayload::Completed {
            result: run
                .result
                .clone()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default(),
        },
        TaskStatus::Cancelled => TaskPayload::Cancelled,
        _ => TaskPayload::Failed {
            error: json!({
                "code": -32603,
                "message": run.note.clone().unwrap_or_else(|| format!("run ended as {:?}", run.status))
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        },
    };
    DetailedTask::new(task, payload)
}
