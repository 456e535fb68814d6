//! The scripted client: its own HTTP and SSE layer (it must see event ids and
//! `retry:`), speaking either era. It answers elicitation and sampling as the
//! scenario says, resumes cut streams with `Last-Event-ID` (legacy) or re-issues
//! the request (2026-07-28), and can send wrong headers on purpose.

use std::time::Duration;

use mcp_harness_wire::{SseDecoder, SseEvent};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::inputs::{MAY_ASK_FOR_INPUT, SCRIPTED_ROOT, accept_content_for, depart};
use crate::scenario::{ClientSpec, ElicitationAnswer, FirstRetry, SamplingAnswer};

mod call;
mod connect;
mod questions;
mod raw;
mod read;
mod resume;
mod rounds;
mod streams;
mod tasks;

use read::Read;
pub use streams::GetStream;

/// The first version without sessions.
pub const MODERN: &str = "2026-07-28";

/// Why the client could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// HTTP failed.
    #[error("{what}: {message}")]
    Http {
        /// What was attempted.
        what: String,
        /// What happened.
        message: String,
    },
    /// The server answered something the client cannot use.
    #[error("{0}")]
    Protocol(String),
    /// The server did not answer within the client's time limit.
    #[error("{0}")]
    TimedOut(String),
    /// The server refused the session: the connection was refused or reset,
    /// or `initialize` was answered 503 or 429 (a server at its limit).
    #[error("{0}")]
    Refused(String),
}

fn http_error(what: &str) -> impl Fn(reqwest::Error) -> ClientError + '_ {
    move |e| ClientError::Http {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

/// How a call ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOutcome {
    /// The JSON-RPC `result`, if one arrived.
    pub result: Option<Value>,
    /// The JSON-RPC `error`, if one arrived.
    pub error: Option<Value>,
    /// Resumes (legacy) or re-issues (2026-07-28) after cuts.
    pub recoveries: u32,
    /// Multi round-trip rounds (2026-07-28).
    pub rounds: u32,
    /// Why it ended without a response, if it did.
    pub gave_up: Option<String>,
    /// The JSON-RPC id of the last request sent for the call (a re-issue has a new one).
    pub request_id: i64,
    /// The first event id the client received for the call.
    pub first_event_id: Option<String>,
    /// The last event id the client received for the call.
    pub last_event_id: Option<String>,
    /// The server refused the call (a 5xx status, or no connection at all)
    /// rather than leaving it unanswered.
    pub refused: bool,
    /// It ended at the call's time limit (no result, or no response, within it).
    pub timed_out: bool,
}

/// Something the call loop asks the runner to do.
pub trait CallHooks {
    /// Called after each event of the call's first stream; the runner may
    /// restart the server (a SIGKILL) here.
    fn after_event(&mut self, events_so_far: u32) -> impl std::future::Future<Output = ()> + Send;

    /// Called for every event of the call, on its first stream and on every
    /// resume, before the client acts on it (a host shows progress here and
    /// remembers the last event id).
    fn on_event(&mut self, _id: Option<&str>, _message: Option<&Value>) {}

    /// Called each time the call is sent (again): its request id and session
    /// change when the client re-issues it or starts a new session.
    fn on_request(&mut self, _id: i64, _session: Option<&str>) {}

    /// Called after each `tasks/get` poll of the call's task (2026-07-28
    /// tasks); the runner may restart the server here.
    fn after_task_poll(&mut self, _polls: u32) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
}

/// No hooks.
pub struct NoHooks;

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl CallHooks for NoHooks {
    async fn after_event(&mut self, _: u32) {}
}

/// The bearer token of a task's creator in a case with an intruder (fixed, so
/// its fingerprint in a transcript is the same every run; it grants nothing).
pub const OWNER_TOKEN: &str = "mcp-harness-task-owner";
/// The bearer token of the other client that tries the creator's task.
pub const INTRUDER_TOKEN: &str = "mcp-harness-intruder";

/// A scripted MCP client of one server URL.
pub struct ScriptedClient {
    http: reqwest::Client,
    url: String,
    version: String,
    session: Option<String>,
    spec: ClientSpec,
    /// Default accept content for elicitations (from the target profile).
    accept_content: Value,
    /// Request ids, shared by the forks of one session so they never collide.
    next_id: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// The log level the next calls ask for in `_meta` (2026-07-28), if any.
    log_level: Option<String>,
    /// How the next call's first multi round-trip retry breaks the rules, if it does.
    first_retry: Option<FirstRetry>,
    /// After how many `tasks/get` polls the next call cancels its task, if it does.
    cancel_task_after_polls: Option<u32>,
    /// After how many `tasks/get` polls another client (another credential)
    /// tries the next call's task, if one does.
    intruder_after_polls: Option<u32>,
    /// The bearer token sent as `Authorization`, if any.
    bearer: Option<String>,
    limit: Duration,
    /// How long the first request may wait (see [`Self::set_start_limit`]).
    start_limit: Option<Duration>,
    /// Readers of standalone GET streams and listen streams, stopped when the
    /// client is dropped.
    listeners: Vec<tokio::task::JoinHandle<()>>,
    /// Notifications its listen streams carried after their acknowledgement,
    /// and a signal for each.
    listened: std::sync::Arc<(std::sync::atomic::AtomicU64, tokio::sync::Notify)>,
    /// The latest `retry:` the server sent, in ms (0: none): the client waits
    /// at least this long before it reconnects.
    retry_hint_ms: std::sync::atomic::AtomicU64,
    /// When the first request, or a call that gives up early, stops waiting:
    /// its streams are read until then.
    call_deadline: std::sync::Mutex<Option<Instant>>,
    /// The first event id of the current call's first stream.
    first_event_id: std::sync::Mutex<Option<String>>,
    /// The latest event id the client received on any stream of the current call.
    /// Shared with the [`GetStream`] handle when this client reads a GET stream.
    last_event_id: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// Answers server questions before the scripted answers do (a person at a
    /// terminal, a model behind a command); `None` from it means "script".
    answerer: Option<Answerer>,
}

/// Answers a server question (`method`, `params`): `Some(Ok(result))`,
/// `Some(Err(error))`, or `None` to fall back to the scripted answer. It may
/// block (it runs on a blocking thread).
pub type Answerer =
    std::sync::Arc<dyn Fn(&str, &Value) -> Option<Result<Value, Value>> + Send + Sync>;

impl Drop for ScriptedClient {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

/// What one resume brought back.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeProbe {
    /// The HTTP status of the GET.
    pub status: u16,
    /// The response to the call, if it was replayed.
    pub response: Option<Value>,
    /// The last event id received on the resumed stream.
    pub last_event_id: Option<String>,
}

impl ScriptedClient {
    /// A client for `url` speaking `version`, behaving per `spec`.
    pub fn new(url: &str, version: &str, spec: ClientSpec, accept_content: Value) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("a plain HTTP client always builds"),
            url: url.to_owned(),
            version: version.to_owned(),
            session: None,
            spec,
            accept_content,
            next_id: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1)),
            log_level: None,
            first_retry: None,
            cancel_task_after_polls: None,
            intruder_after_polls: None,
            bearer: None,
            limit: Duration::from_secs(30),
            start_limit: None,
            listeners: Vec::new(),
            listened: Default::default(),
            retry_hint_ms: std::sync::atomic::AtomicU64::new(0),
            call_deadline: std::sync::Mutex::new(None),
            first_event_id: std::sync::Mutex::new(None),
            last_event_id: Default::default(),
            answerer: None,
        }
    }

    /// Send `headers` on every request (`run --header`), unless a request
    /// sets the same header itself; its forks and siblings send them too.
    pub fn set_headers(&mut self, headers: &crate::target_headers::TargetHeaders) {
        self.http = headers.client();
    }

    /// Another client in the same session (same session id, same request-id
    /// counter), for calls that run at once.
    pub fn fork(&self) -> Self {
        Self {
            http: self.http.clone(),
            url: self.url.clone(),
            version: self.version.clone(),
            session: self.session.clone(),
            spec: self.spec.clone(),
            accept_content: self.accept_content.clone(),
            next_id: self.next_id.clone(),
            log_level: self.log_level.clone(),
            first_retry: self.first_retry,
            cancel_task_after_polls: self.cancel_task_after_polls,
            intruder_after_polls: self.intruder_after_polls,
            bearer: self.bearer.clone(),
            limit: self.limit,
            start_limit: self.start_limit,
            listeners: Vec::new(),
            listened: Default::default(),
            retry_hint_ms: std::sync::atomic::AtomicU64::new(
                self.retry_hint_ms
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
            call_deadline: std::sync::Mutex::new(None),
            first_event_id: std::sync::Mutex::new(None),
            last_event_id: Default::default(),
            answerer: self.answerer.clone(),
        }
    }

    /// A client of the same server and behaviour with no session yet (call
    /// [`Self::connect`] to start its own).
    pub fn sibling(&self) -> Self {
        let mut sibling = self.fork();
        sibling.session = None;
        sibling.next_id = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1));
        sibling
    }

    /// The log level the next tool calls ask for (`io.modelcontextprotocol/logLevel`
    /// in their `_meta`, 2026-07-28 only: a legacy session sets its level with
    /// `logging/setLevel`); `None` asks for no log messages.
    pub fn set_log_level(&mut self, level: Option<String>) {
        self.log_level = level;
    }

    /// How the next calls' first multi round-trip retry departs from the rules
    /// (2026-07-28), to judge the server's handling; `None` keeps them.
    pub fn set_first_retry(&mut self, first_retry: Option<FirstRetry>) {
        self.first_retry = first_retry;
    }

    /// Cancel the next calls' tasks (`tasks/cancel`) after this many
    /// `tasks/get` polls; `None` lets them run.
    pub fn set_cancel_task_after_polls(&mut self, polls: Option<u32>) {
        self.cancel_task_after_polls = polls;
    }

    /// After this many `tasks/get` polls of the next calls' tasks, another
    /// client (bearer token [`INTRUDER_TOKEN`]) sends `tasks/get`,
    /// `tasks/update` and `tasks/cancel` for the task, whose own requests
    /// then carry [`OWNER_TOKEN`]; `None`: no intruder, and no token.
    pub fn set_intruder_after_polls(&mut self, polls: Option<u32>) {
        self.intruder_after_polls = polls;
        self.bearer = polls.map(|_| OWNER_TOKEN.to_owned());
    }

    /// How long a call (and each read) may take before the client gives up.
    pub fn set_call_limit(&mut self, limit: Duration) {
        self.limit = limit;
    }

    /// How long the first request (`initialize`, `server/discover`) may wait
    /// for its answer: a server that was just started may still be loading
    /// (the call limit when unset).
    pub fn set_start_limit(&mut self, limit: Duration) {
        self.start_limit = Some(limit);
    }

    /// Whether this client speaks 2026-07-28 (stateless).
    pub fn modern(&self) -> bool {
        self.version.as_str() >= MODERN
    }

    fn breaks(&self, fault: crate::scenario::ClientFault) -> bool {
        self.spec.misbehave.contains(&fault)
    }

    /// How long to wait before reconnecting: the scenario's delay, or the
    /// server's `retry:` if that is longer.
    fn reconnect_delay(&self) -> Duration {
        if self.breaks(crate::scenario::ClientFault::IgnoreRetry) {
            return Duration::ZERO;
        }
        let retry = self
            .retry_hint_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        // A server's retry: never makes the client wait past its own limit.
        Duration::from_millis(self.spec.resume_delay_ms.max(retry)).min(self.limit)
    }

    /// The session id, once initialized.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Use `session` (from an earlier run of this client) instead of initializing.
    pub fn set_session(&mut self, session: Option<String>) {
        self.session = session;
    }

    /// The id the next request will carry.
    pub fn next_request_id(&self) -> i64 {
        self.next_id.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests from now on carry ids from `id` (after a restart of this process).
    pub fn set_next_request_id(&mut self, id: i64) {
        self.next_id.store(id, std::sync::atomic::Ordering::Relaxed);
    }

    fn capabilities(&self) -> Value {
        let mut caps = serde_json::Map::new();
        for capability in &self.spec.capabilities {
            if capability == "tasks" {
                caps.insert(
                    "extensions".into(),
                    json!({"io.modelcontextprotocol/tasks": {}}),
                );
            } else {
                caps.insert(capability.clone(), json!({}));
            }
        }
        Value::Object(caps)
    }

    fn meta(&self) -> Value {
        json!({
            "io.modelcontextprotocol/protocolVersion": self.version,
            "io.modelcontextprotocol/clientCapabilities": self.capabilities(),
            "io.modelcontextprotocol/clientInfo": {"name": "mcp-harness", "version": env!("CARGO_PKG_VERSION")},
        })
    }

    fn take_id(&self) -> i64 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(&self.url)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .json(body);
        let initializing = body.get("method").and_then(Value::as_str) == Some("initialize");
        if initializing || !self.breaks(crate::scenario::ClientFault::OmitVersionHeader) {
            request = request.header("MCP-Protocol-Version", &self.version);
        }
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if self.modern() && !self.breaks(crate::scenario::ClientFault::OmitMcpHeaders) {
            if let Some(method) = body.get("method").and_then(Value::as_str) {
                request = request.header("Mcp-Method", method);
            }
            // Mcp-Name: params.name, params.uri or params.taskId, by method (SEP-2243).
            let key = match body.get("method").and_then(Value::as_str) {
                Some("tools/call" | "prompts/get") => Some("name"),
                Some("resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
                    Some("uri")
                }
                Some("tasks/get" | "tasks/update" | "tasks/cancel") => Some("taskId"),
                _ => None,
            };
            if let Some(name) = key
                .and_then(|k| body.get("params")?.get(k))
                .and_then(Value::as_str)
            {
                request = request.header("Mcp-Name", mcp_harness_wire::header_value::encode(name));
            }
        }
        request
    }

    /// Send a request and wait for its response (no resume).
    pub async fn request(&mut self, body: Value) -> Result<Value, ClientError> {
        let id = body.get("id").and_then(Value::as_i64).unwrap_or(0);
        let limit = self.limit;
        let response = tokio::time::timeout(limit, self.post(&body).send())
            .await
            .map_err(|_| ClientError::TimedOut(format!("no response within {limit:?}")))?
            .map_err(http_error("request"))?;
        match self.read(response, id, &mut NoHooks, false).await? {
            Read::Answered(answer) => Ok(answer),
            Read::Ended { .. } => Err(ClientError::Protocol(
                "the stream ended without a response".into(),
            )),
        }
    }
}
