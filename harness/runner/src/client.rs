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
    /// Readers of standalone GET streams, stopped when the client is dropped.
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
    last_event_id: std::sync::Mutex<Option<String>>,
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

enum Read {
    /// The response to our request arrived.
    Answered(Value),
    /// The stream ended (or broke) without it; the last event id seen.
    Ended { last_event_id: Option<String> },
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
            last_event_id: std::sync::Mutex::new(None),
            answerer: None,
        }
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
            last_event_id: std::sync::Mutex::new(None),
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

    /// Start: `initialize` + `notifications/initialized` (legacy), or
    /// `server/discover` (2026-07-28).
    pub async fn connect(&mut self) -> Result<Value, ClientError> {
        let limit = self.start_limit.unwrap_or(self.limit);
        // Its answer is read until then, not the call limit (a call that
        // re-initializes mid-way gets its own deadline back after).
        let call = lock(&self.call_deadline).replace(Instant::now() + limit);
        let connected = tokio::time::timeout(limit, self.connect_unbounded()).await;
        *lock(&self.call_deadline) = call;
        connected.map_err(|_| {
            ClientError::TimedOut(format!("no answer to the first request within {limit:?}"))
        })?
    }

    async fn connect_unbounded(&mut self) -> Result<Value, ClientError> {
        if self.breaks(crate::scenario::ClientFault::SendGarbage) {
            let _ = self
                .http
                .post(&self.url)
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .body(&b"\x00\xffnot json at all{{{"[..])
                .send()
                .await;
        }
        let id = self.take_id();
        if self.modern() {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": {"_meta": self.meta()}});
            return self.request(body).await;
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": self.version, "capabilities": self.capabilities(),
            "clientInfo": {"name": "mcp-harness", "version": env!("CARGO_PKG_VERSION")}}});
        let response = self.post(&body).send().await.map_err(|e| {
            if e.is_connect() {
                ClientError::Refused(format!("initialize: the connection was refused: {e}"))
            } else {
                http_error("initialize")(e)
            }
        })?;
        if !response.status().is_success() {
            let status = response.status();
            let at_its_limit = [503, 429].contains(&status.as_u16());
            // What the server (or, over stdio, the bridge) said, in short.
            let said: String = response
                .text()
                .await
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(300)
                .collect();
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            };
            let message = format!("initialize answered HTTP {status}{said}");
            return Err(if at_its_limit {
                ClientError::Refused(message)
            } else {
                ClientError::Protocol(message)
            });
        }
        self.session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = match self.read(response, id, &mut NoHooks, false).await? {
            Read::Answered(answer) => answer,
            Read::Ended { .. } => {
                return Err(ClientError::Protocol("initialize got no response".into()));
            }
        };
        if answer.get("result").is_none() {
            // Refused: there is no session to acknowledge.
            return Ok(answer);
        }
        let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.post(&ack)
            .send()
            .await
            .map_err(http_error("notifications/initialized"))?;
        Ok(answer)
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

    /// Send request `method` with `params` (and, in 2026-07-28, the
    /// per-request `_meta`), and wait for its response.
    pub async fn send_request(
        &mut self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let mut params = params.cloned().unwrap_or_else(|| json!({}));
        if !params.is_object() {
            return Err(ClientError::Protocol(format!(
                "the params of `{method}` must be an object, not `{params}`"
            )));
        }
        if self.modern() {
            params["_meta"] = self.meta();
        }
        let mut rounds = 0;
        loop {
            let id = self.take_id();
            let answer = self
                .request(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
                .await?;
            // 2026-07-28: a request that may ask for input is retried with the
            // answers (10 rounds at most); an InputRequiredResult on any other
            // method is the server's fault and is returned as it came.
            let result = answer.get("result").cloned().unwrap_or_default();
            let asks = result.get("resultType").and_then(Value::as_str) == Some("input_required");
            if !(asks && self.modern() && MAY_ASK_FOR_INPUT.contains(&method) && rounds < 10) {
                return Ok(answer);
            }
            rounds += 1;
            let Ok(responses) = self.answer_inputs(&result).await else {
                return Ok(answer);
            };
            params["inputResponses"] = Value::Object(responses);
            match result.get("requestState") {
                Some(state) => params["requestState"] = state.clone(),
                None => {
                    if let Some(p) = params.as_object_mut() {
                        p.remove("requestState");
                    }
                }
            }
        }
    }

    /// Answer every input request of an `InputRequiredResult`; `Err` says which
    /// one the client did not answer (an error answer or silence: 2026-07-28
    /// has no way to send an error back).
    async fn answer_inputs(
        &self,
        result: &Value,
    ) -> Result<serde_json::Map<String, Value>, String> {
        let mut responses = serde_json::Map::new();
        if let Some(requests) = result.get("inputRequests").and_then(Value::as_object) {
            for (key, request) in requests {
                match self.answer_question(request).await {
                    Some(Ok(answer)) => {
                        responses.insert(key.clone(), answer);
                    }
                    _ => return Err(format!("the client did not answer input request `{key}`")),
                }
            }
        }
        Ok(responses)
    }

    /// Call `tool` with `arguments`, following the call to its end.
    pub async fn call(
        &mut self,
        tool: &str,
        arguments: &Value,
        token: Option<&Value>,
        hooks: &mut impl CallHooks,
    ) -> Result<CallOutcome, ClientError> {
        *lock(&self.last_event_id) = None;
        *lock(&self.first_event_id) = None;
        let outcome = self.call_inner(tool, arguments, token, hooks).await;
        *lock(&self.call_deadline) = None;
        let mut outcome = outcome?;
        outcome.first_event_id = lock(&self.first_event_id).clone();
        outcome.last_event_id = lock(&self.last_event_id).clone();
        Ok(outcome)
    }

    /// How soon the scenario gives up on a call, when sooner than the limit.
    fn give_up(&self) -> Option<Duration> {
        self.spec
            .give_up_after_ms
            .map(Duration::from_millis)
            .filter(|after| *after < self.limit)
    }

    /// `outcome` of a call that ran out of time: the scenario's give-up
    /// (`give_up`, not a time limit), or the call limit.
    fn out_of_time(
        &self,
        mut outcome: CallOutcome,
        give_up: Option<Duration>,
        what: &str,
    ) -> CallOutcome {
        match give_up {
            Some(after) => {
                outcome.gave_up = Some(format!(
                    "no {what} within {after:?}: the client gave up (the scenario's give_up_after_ms)"
                ));
            }
            None => {
                outcome.gave_up = Some(format!("no {what} within {:?}", self.limit));
                outcome.timed_out = true;
            }
        }
        outcome
    }

    async fn call_inner(
        &mut self,
        tool: &str,
        arguments: &Value,
        token: Option<&Value>,
        hooks: &mut impl CallHooks,
    ) -> Result<CallOutcome, ClientError> {
        // A scenario whose subject is a wait gives up sooner, by choice.
        let give_up = self.give_up();
        let deadline = Instant::now() + give_up.unwrap_or(self.limit);
        // Its streams are read until then only when the scenario gives up
        // early; otherwise each read has the call limit, as before.
        *lock(&self.call_deadline) = give_up.map(|_| deadline);
        let mut outcome = CallOutcome::default();
        let mut input_responses: Option<Value> = None;
        let mut request_state: Option<Value> = None;
        let mut first_stream = true;
        loop {
            if Instant::now() > deadline {
                return Ok(self.out_of_time(outcome, give_up, "result"));
            }
            let id = self.take_id();
            outcome.request_id = id;
            hooks.on_request(id, self.session.as_deref());
            let mut params = json!({"name": tool, "arguments": arguments});
            let mut meta = if self.modern() {
                self.meta()
            } else {
                json!({})
            };
            if let Some(token) = token {
                meta["progressToken"] = token.clone();
            }
            if let (true, Some(level)) = (self.modern(), &self.log_level) {
                meta["io.modelcontextprotocol/logLevel"] = json!(level);
            }
            if meta.as_object().is_some_and(|m| !m.is_empty()) {
                params["_meta"] = meta;
            }
            if let Some(responses) = &input_responses {
                params["inputResponses"] = responses.clone();
            }
            if let Some(state) = &request_state {
                params["requestState"] = state.clone();
            }
            let body =
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
            let sent = tokio::time::timeout_at(deadline, self.post(&body).send()).await;
            let Ok(sent) = sent else {
                return Ok(self.out_of_time(outcome, give_up, "response"));
            };
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    // Connection refused or dropped: recover like a cut, a bounded number of times.
                    if outcome.recoveries >= self.spec.max_resumes {
                        outcome.gave_up = Some(format!("could not reach the server: {e}"));
                        outcome.refused = true;
                        return Ok(outcome);
                    }
                    outcome.recoveries += 1;
                    tokio::time::sleep(Duration::from_millis(self.spec.resume_delay_ms.max(100)))
                        .await;
                    continue;
                }
            };
            if response.status().as_u16() == 404
                && self.session.is_some()
                && outcome.recoveries < self.spec.max_resumes
            {
                outcome.recoveries += 1;
                if !self.breaks(crate::scenario::ClientFault::ReuseExpiredSession) {
                    // The session is gone: start a new one and ask again.
                    self.session = None;
                    self.connect().await?;
                }
                continue;
            }
            if !response.status().is_success() && response.status().as_u16() != 202 {
                let status = response.status().as_u16();
                let text = tokio::time::timeout_at(deadline, response.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                if let Ok(message) = serde_json::from_str::<Value>(&text)
                    && let Some(error) = message.get("error")
                {
                    outcome.error = Some(error.clone());
                    return Ok(outcome);
                }
                outcome.gave_up = Some(format!("HTTP {status}: {text}"));
                outcome.refused = status >= 500;
                return Ok(outcome);
            }
            let mut read = if first_stream {
                self.read(response, id, hooks, true).await?
            } else {
                self.read(response, id, hooks, false).await?
            };
            first_stream = false;
            // Legacy: resume a cut stream with Last-Event-ID until the response
            // arrives. A resume that brought new events before its stream ended
            // is progress (a server may replay what it has stored and close, or
            // close streams on purpose to have the client poll): only resumes
            // in a row that bring nothing count toward giving up.
            let mut fruitless = 0u32;
            while let Read::Ended {
                last_event_id: Some(last),
            } = &read
            {
                if self.modern() || fruitless >= self.spec.max_resumes || Instant::now() > deadline
                {
                    break;
                }
                if outcome.recoveries == 0
                    && self.breaks(crate::scenario::ClientFault::CancelOnDisconnect)
                {
                    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": id, "reason": "the stream was cut"}});
                    let _ = self.post(&cancel).send().await;
                }
                outcome.recoveries += 1;
                tokio::time::sleep(self.reconnect_delay()).await;
                let mut last = last.clone();
                if self.breaks(crate::scenario::ClientFault::ResumeFromFirstEvent)
                    && let Some(first) = self
                        .first_event_id
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone()
                {
                    last = first;
                }
                let resumed = self.resume(&last).await;
                // A resume that fails, or ends before any new event, leaves the
                // client where it was: it tries again from the same event id.
                read = match resumed {
                    Ok(response) if !response.status().is_success() => Read::Ended {
                        last_event_id: Some(last.clone()),
                    },
                    Ok(response) => match self.read(response, id, hooks, false).await {
                        Ok(Read::Ended {
                            last_event_id: None,
                        })
                        | Err(_) => Read::Ended {
                            last_event_id: Some(last.clone()),
                        },
                        Ok(read) => read,
                    },
                    Err(_) => Read::Ended {
                        last_event_id: Some(last.clone()),
                    },
                };
                match &read {
                    Read::Ended {
                        last_event_id: Some(now),
                    } if *now == last => fruitless += 1,
                    _ => fruitless = 0,
                }
            }
            let answer = match read {
                Read::Answered(answer) => answer,
                Read::Ended { .. }
                    if self.modern()
                        && outcome.recoveries < self.spec.max_resumes
                        && !self.breaks(crate::scenario::ClientFault::NoReissue) =>
                {
                    // 2026-07-28 has no resumption: re-issue the request with a new id.
                    outcome.recoveries += 1;
                    tokio::time::sleep(self.reconnect_delay()).await;
                    continue;
                }
                // The client stopped reading: the scenario gives up here.
                Read::Ended { .. } if give_up.is_some() && Instant::now() >= deadline => {
                    return Ok(self.out_of_time(outcome, give_up, "response"));
                }
                Read::Ended { .. } => {
                    outcome.gave_up = Some("the stream ended without a response".into());
                    return Ok(outcome);
                }
            };
            if let Some(error) = answer.get("error") {
                outcome.error = Some(error.clone());
                return Ok(outcome);
            }
            let result = answer.get("result").cloned().unwrap_or_default();
            if result.get("resultType").and_then(Value::as_str) == Some("input_required") {
                outcome.rounds += 1;
                if outcome.rounds > 10 {
                    outcome.gave_up = Some("more than 10 input rounds".into());
                    return Ok(outcome);
                }
                let responses = match self.answer_inputs(&result).await {
                    Ok(responses) => responses,
                    // An error answer or silence: there is nothing to send back in
                    // 2026-07-28, so the client stops here (the server's run times out).
                    Err(gave_up) => {
                        outcome.gave_up = Some(gave_up);
                        return Ok(outcome);
                    }
                };
                let mut state = result.get("requestState").cloned();
                let responses = match self.first_retry.filter(|_| outcome.rounds == 1) {
                    Some(how) => depart(how, responses, &mut state),
                    None => responses,
                };
                input_responses = Some(Value::Object(responses));
                request_state = state;
                continue;
            }
            if result.get("resultType").and_then(Value::as_str) == Some("task") {
                self.follow_task(&result, deadline, &mut outcome, hooks)
                    .await?;
                return Ok(outcome);
            }
            outcome.result = Some(result);
            return Ok(outcome);
        }
    }

    /// Another client (another bearer token) tries task `task_id`: reads it,
    /// answers it and cancels it. What the server answers is for the checks
    /// (`tasks.owner_only`) to judge; the call goes on either way.
    async fn intrude(&mut self, task_id: &str) {
        let owner = self.bearer.replace(INTRUDER_TOKEN.to_owned());
        for (method, extra) in [
            ("tasks/get", json!({})),
            ("tasks/update", json!({"inputResponses": {}})),
            ("tasks/cancel", json!({})),
        ] {
            let id = self.take_id();
            let mut params = json!({"taskId": task_id, "_meta": self.meta()});
            if let (Some(p), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
                p.extend(extra.clone());
            }
            let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            let _ = self.request(body).await;
        }
        self.bearer = owner;
    }

    /// Follow a task (2026-07-28 tasks extension) created by a call: poll
    /// `tasks/get` at the interval the server asks for, answer its input
    /// requests with `tasks/update`, and take its final result or error.
    async fn follow_task(
        &mut self,
        created: &Value,
        deadline: Instant,
        outcome: &mut CallOutcome,
        hooks: &mut impl CallHooks,
    ) -> Result<(), ClientError> {
        let Some(task_id) = created.get("taskId").and_then(Value::as_str) else {
            outcome.gave_up = Some(format!("a task result without a taskId: {created}"));
            return Ok(());
        };
        let task_id = task_id.to_owned();
        let mut poll = created
            .get("pollIntervalMs")
            .and_then(Value::as_u64)
            .unwrap_or(100);
        let mut answered: std::collections::BTreeSet<String> = Default::default();
        let mut polls = 0u32;
        let mut cancel_sent = false;
        loop {
            if Instant::now() > deadline {
                outcome.gave_up = Some(format!(
                    "task {task_id} did not end within {:?}",
                    self.limit
                ));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(poll.clamp(10, 1000))).await;
            if self.cancel_task_after_polls == Some(polls) {
                cancel_sent = true;
                let id = self.take_id();
                let body = json!({"jsonrpc": "2.0", "id": id, "method": "tasks/cancel", "params": {"taskId": task_id, "_meta": self.meta()}});
                let answer = self.request(body).await?;
                if let Some(error) = answer.get("error") {
                    outcome.error = Some(error.clone());
                    return Ok(());
                }
            }
            if self.intruder_after_polls == Some(polls) {
                self.intrude(&task_id).await;
            }
            polls += 1;
            let id = self.take_id();
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tasks/get", "params": {"taskId": task_id, "_meta": self.meta()}});
            let answer = self.request(body).await?;
            hooks.after_task_poll(polls).await;
            if let Some(error) = answer.get("error") {
                outcome.error = Some(error.clone());
                return Ok(());
            }
            let task = answer.get("result").cloned().unwrap_or_default();
            if let Some(ms) = task.get("pollIntervalMs").and_then(Value::as_u64) {
                poll = ms;
            }
            match task.get("status").and_then(Value::as_str) {
                Some("completed") => {
                    outcome.result = Some(task.get("result").cloned().unwrap_or_default());
                    return Ok(());
                }
                Some("failed") => {
                    outcome.error = Some(task.get("error").cloned().unwrap_or(task));
                    return Ok(());
                }
                Some("cancelled") => {
                    outcome.gave_up = Some(format!("task {task_id} was cancelled"));
                    return Ok(());
                }
                // A task the client cancelled is polled to its end, unanswered.
                Some("input_required") if cancel_sent => {}
                Some("input_required") => {
                    let mut responses = serde_json::Map::new();
                    if let Some(requests) = task.get("inputRequests").and_then(Value::as_object) {
                        for (key, request) in requests {
                            if answered.contains(key) {
                                continue; // answered already; the server has not caught up
                            }
                            match self.answer_question(request).await {
                                Some(Ok(answer)) => {
                                    responses.insert(key.clone(), answer);
                                }
                                _ => {
                                    outcome.gave_up = Some(format!(
                                        "the client did not answer input request `{key}` of task {task_id}"
                                    ));
                                    return Ok(());
                                }
                            }
                        }
                    }
                    if responses.is_empty() {
                        continue;
                    }
                    outcome.rounds += 1;
                    answered.extend(responses.keys().cloned());
                    let id = self.take_id();
                    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tasks/update", "params": {"taskId": task_id, "inputResponses": responses, "_meta": self.meta()}});
                    let answer = self.request(body).await?;
                    if let Some(error) = answer.get("error") {
                        outcome.error = Some(error.clone());
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    /// Continue call `id` whose stream this process lost (it crashed, say):
    /// resume from `last_event_id` until the response arrives, a bounded number
    /// of times.
    pub async fn resume_call(
        &mut self,
        id: i64,
        last_event_id: &str,
        hooks: &mut impl CallHooks,
    ) -> Result<CallOutcome, ClientError> {
        let deadline = Instant::now() + self.give_up().unwrap_or(self.limit);
        let mut outcome = CallOutcome::default();
        let mut last = last_event_id.to_owned();
        loop {
            if outcome.recoveries >= self.spec.max_resumes.max(1) || Instant::now() > deadline {
                outcome.gave_up = Some(format!("no response after {} resumes", outcome.recoveries));
                return Ok(outcome);
            }
            outcome.recoveries += 1;
            let read = match self.resume(&last).await {
                Ok(response) if response.status().is_success() => self
                    .read(response, id, hooks, false)
                    .await
                    .unwrap_or(Read::Ended {
                        last_event_id: None,
                    }),
                Ok(response) => {
                    outcome.gave_up = Some(format!(
                        "the resume was answered HTTP {}",
                        response.status()
                    ));
                    return Ok(outcome);
                }
                Err(_) => {
                    // The server may be restarting: give it a moment.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Read::Ended {
                        last_event_id: None,
                    }
                }
            };
            match read {
                Read::Answered(answer) => {
                    match answer.get("error") {
                        Some(error) => outcome.error = Some(error.clone()),
                        None => outcome.result = answer.get("result").cloned(),
                    }
                    return Ok(outcome);
                }
                Read::Ended {
                    last_event_id: Some(newer),
                } => last = newer,
                Read::Ended { .. } => {}
            }
            tokio::time::sleep(self.reconnect_delay()).await;
        }
    }

    /// Resume once from `last_event_id` (a `resume` step): GET with it, read
    /// what comes for at most `wait` or until the response to request `id`,
    /// answering server requests on the way.
    pub async fn resume_once(
        &self,
        last_event_id: &str,
        id: Option<i64>,
        wait: Duration,
    ) -> Result<ResumeProbe, ClientError> {
        let mut probe = self.fork();
        probe.limit = wait;
        let response = probe.resume(last_event_id).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let _ = tokio::time::timeout(Duration::from_millis(200), response.bytes()).await;
            return Ok(ResumeProbe {
                status,
                response: None,
                last_event_id: None,
            });
        }
        let read = probe
            .read(response, id.unwrap_or(i64::MIN), &mut NoHooks, false)
            .await?;
        Ok(match read {
            Read::Answered(answer) => ResumeProbe {
                status,
                response: Some(answer),
                last_event_id: lock(&probe.last_event_id).clone(),
            },
            Read::Ended { last_event_id } => ResumeProbe {
                status,
                response: None,
                last_event_id,
            },
        })
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

    /// GET with `Last-Event-ID`.
    pub async fn resume(&self, last_event_id: &str) -> Result<reqwest::Response, ClientError> {
        let mut request = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("Last-Event-ID", last_event_id);
        if !self.breaks(crate::scenario::ClientFault::OmitVersionHeader) {
            request = request.header("MCP-Protocol-Version", &self.version);
        }
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        tokio::time::timeout(self.limit, request.send())
            .await
            .map_err(|_| {
                ClientError::Protocol(format!("no answer to the resume within {:?}", self.limit))
            })?
            .map_err(http_error("resume"))
    }

    /// Open the session's standalone GET stream and read it in the background,
    /// answering the server's requests on it as a call's are (what arrives is
    /// in the proxy's transcript); returns the status.
    pub async fn open_get_stream(&mut self) -> Result<u16, ClientError> {
        let mut request = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("MCP-Protocol-Version", &self.version);
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        let response = request.send().await.map_err(http_error("GET stream"))?;
        let status = response.status().as_u16();
        // Its requests are answered as a call's are, by a client of the
        // same session.
        let responder = self.fork();
        let limit = self.limit;
        self.listeners.push(tokio::spawn(async move {
            let mut response = response;
            let mut decoder = SseDecoder::default();
            let _ = tokio::time::timeout(limit, async {
                while let Ok(Some(chunk)) = response.chunk().await {
                    let mut events = Vec::new();
                    if decoder.feed(&chunk, &mut events).is_err() {
                        return;
                    }
                    for event in events {
                        if let Ok(message) = serde_json::from_str::<Value>(&event.data)
                            && message.get("method").is_some()
                            && message.get("id").is_some()
                        {
                            responder.answer_server_request(&message).await;
                        }
                    }
                }
            })
            .await;
        }));
        Ok(status)
    }

    /// 2026-07-28: POST `subscriptions/listen` with the filter
    /// `notifications`; wait (2 s at most) for the acknowledgement, then keep
    /// reading the stream in the background until this client is dropped or
    /// its limit passes, counting the notifications after the acknowledgement
    /// (see [`Self::await_notifications`]). Returns the status and whether
    /// the acknowledgement came.
    pub async fn listen(&mut self, notifications: &Value) -> Result<(u16, bool), ClientError> {
        let id = self.take_id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
            "params": {"notifications": notifications, "_meta": self.meta()}});
        let mut response = tokio::time::timeout(self.limit, self.post(&body).send())
            .await
            .map_err(|_| {
                ClientError::TimedOut(format!(
                    "no answer to subscriptions/listen within {:?}",
                    self.limit
                ))
            })?
            .map_err(http_error("subscriptions/listen"))?;
        let status = response.status().as_u16();
        let (acked_tx, acked_rx) = tokio::sync::oneshot::channel::<()>();
        let counter = self.listened.clone();
        let limit = self.limit;
        self.listeners.push(tokio::spawn(async move {
            let mut acked_tx = Some(acked_tx);
            let mut decoder = SseDecoder::new(16 << 20);
            let _ = tokio::time::timeout(limit, async {
                while let Ok(Some(chunk)) = response.chunk().await {
                    let mut events = Vec::new();
                    if decoder.feed(&chunk, &mut events).is_err() {
                        return;
                    }
                    for event in events {
                        let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                            continue;
                        };
                        match message.get("method").and_then(Value::as_str) {
                            Some("notifications/subscriptions/acknowledged") => {
                                if let Some(tx) = acked_tx.take() {
                                    let _ = tx.send(());
                                }
                            }
                            Some(_) => {
                                counter.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                counter.1.notify_waiters();
                            }
                            None => {}
                        }
                    }
                }
            })
            .await;
        }));
        let acknowledged = tokio::time::timeout(Duration::from_secs(2), acked_rx)
            .await
            .is_ok_and(|r| r.is_ok());
        Ok((status, acknowledged))
    }

    /// Wait until the listen streams of this client have carried `count`
    /// notifications after their acknowledgement, `within` at most; whether
    /// they did.
    pub async fn await_notifications(&self, count: u64, within: Duration) -> bool {
        let (seen, changed) = &*self.listened;
        tokio::time::timeout(within, async {
            loop {
                let notified = changed.notified();
                if seen.load(std::sync::atomic::Ordering::SeqCst) >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }

    /// Send DELETE for the session; returns the status.
    pub async fn delete_session(&mut self) -> Result<u16, ClientError> {
        let mut request = self
            .http
            .delete(&self.url)
            .header("MCP-Protocol-Version", &self.version);
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        Ok(tokio::time::timeout(self.limit, request.send())
            .await
            .map_err(|_| {
                ClientError::Protocol(format!("no answer to DELETE within {:?}", self.limit))
            })?
            .map_err(http_error("delete"))?
            .status()
            .as_u16())
    }

    /// Send a request exactly as described; returns the status.
    pub async fn raw(
        &self,
        method: &str,
        headers: &[(String, String)],
        session: &str,
        body: Option<&str>,
    ) -> Result<u16, ClientError> {
        let method: reqwest::Method = method
            .parse()
            .map_err(|_| ClientError::Protocol(format!("`{method}` is not an HTTP method")))?;
        let mut request = self
            .http
            .request(method, &self.url)
            .header("Accept", "application/json, text/event-stream");
        let mut has_version = false;
        for (name, value) in headers {
            has_version |= name.eq_ignore_ascii_case("mcp-protocol-version");
            request = request.header(name, value);
        }
        if !has_version {
            request = request.header("MCP-Protocol-Version", &self.version);
        }
        match session {
            "current" => {
                if let Some(session) = &self.session {
                    request = request.header("Mcp-Session-Id", session);
                }
            }
            "none" => {}
            literal => request = request.header("Mcp-Session-Id", literal),
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.map_err(http_error("raw request"))?;
        let status = response.status().as_u16();
        // Do not hang on a stream a raw request may have opened.
        let _ = tokio::time::timeout(Duration::from_millis(200), response.bytes()).await;
        Ok(status)
    }

    /// Answer a server question (request JSON with method and params); `None` for silence.
    /// Let `answerer` answer server questions first.
    pub fn set_answerer(&mut self, answerer: Answerer) {
        self.answerer = Some(answerer);
    }

    async fn answer_question(&self, request: &Value) -> Option<Result<Value, Value>> {
        if let Some(answerer) = self.answerer.clone() {
            let method = request["method"].as_str().unwrap_or_default().to_owned();
            let params = request.get("params").cloned().unwrap_or_default();
            let answered = tokio::task::spawn_blocking(move || answerer(&method, &params)).await;
            if let Ok(Some(answer)) = answered {
                return Some(answer);
            }
        }
        match request.get("method").and_then(Value::as_str) {
            Some("elicitation/create") => match &self.spec.elicitation {
                ElicitationAnswer::Accept { .. }
                    if self.breaks(crate::scenario::ClientFault::InvalidElicitationAnswer) =>
                {
                    Some(Ok(
                        json!({"action": "accept", "content": {"confirm": "yes"}}),
                    ))
                }
                ElicitationAnswer::Accept { content } => {
                    let content = content.clone().unwrap_or_else(|| {
                        accept_content_for(
                            request.pointer("/params/requestedSchema"),
                            &self.accept_content,
                        )
                    });
                    Some(Ok(json!({"action": "accept", "content": content})))
                }
                ElicitationAnswer::Decline => Some(Ok(json!({"action": "decline"}))),
                ElicitationAnswer::Cancel => Some(Ok(json!({"action": "cancel"}))),
                ElicitationAnswer::Error => Some(Err(
                    json!({"code": -32603, "message": "the user interface failed"}),
                )),
                ElicitationAnswer::Silence => None,
            },
            Some("sampling/createMessage") => match &self.spec.sampling {
                SamplingAnswer::Text(text)
                    if self.breaks(crate::scenario::ClientFault::MalformedSamplingResult) =>
                {
                    Some(Ok(
                        json!({"role": "assistant", "content": {"type": "text", "text": text}}),
                    ))
                }
                SamplingAnswer::Text(text) => Some(Ok(
                    json!({"role": "assistant", "content": {"type": "text", "text": text}, "model": "mcp-harness-scripted", "stopReason": "endTurn"}),
                )),
                SamplingAnswer::Error => Some(Err(
                    json!({"code": -32603, "message": "the model is unavailable"}),
                )),
                SamplingAnswer::Silence => None,
            },
            Some("roots/list") => Some(Ok(json!({"roots": [
                {"uri": SCRIPTED_ROOT, "name": "mcp-harness workspace"}
            ]}))),
            Some("ping") => Some(Ok(json!({}))),
            _ => Some(Err(json!({"code": -32601, "message": "method not found"}))),
        }
    }

    /// Read a response (JSON or SSE) until the response to `id`, answering server
    /// requests on the way.
    async fn read(
        &self,
        response: reqwest::Response,
        id: i64,
        hooks: &mut impl CallHooks,
        first_stream: bool,
    ) -> Result<Read, ClientError> {
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/event-stream"));
        if !is_stream {
            let limit = self.limit;
            let text = tokio::time::timeout(limit, response.text())
                .await
                .map_err(|_| {
                    ClientError::Protocol(format!("response body not complete within {limit:?}"))
                })?
                .map_err(http_error("response body"))?;
            if text.trim().is_empty() {
                return Ok(Read::Ended {
                    last_event_id: None,
                });
            }
            let message: Value = serde_json::from_str(&text)
                .map_err(|e| ClientError::Protocol(format!("response is not JSON: {e}")))?;
            return Ok(Read::Answered(message));
        }
        let mut response = response;
        let mut decoder = SseDecoder::default();
        let mut last_event_id = None;
        let mut count = 0u32;
        // Until the deadline of what is being read when it has one (the first
        // request, a scenario that gives up early), else the call limit.
        let deadline = lock(&self.call_deadline).unwrap_or_else(|| Instant::now() + self.limit);
        loop {
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                _ => return Ok(Read::Ended { last_event_id }),
            };
            let mut events: Vec<SseEvent> = Vec::new();
            if decoder.feed(&chunk, &mut events).is_err() {
                return Ok(Read::Ended { last_event_id });
            }
            for event in events {
                count += 1;
                if event.id.is_some() {
                    last_event_id = event.id.clone();
                    lock(&self.last_event_id).clone_from(&event.id);
                }
                if let Some(retry) = event.retry_ms {
                    self.retry_hint_ms
                        .store(retry, std::sync::atomic::Ordering::Relaxed);
                }
                if first_stream && let Some(id) = &event.id {
                    self.first_event_id
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert_with(|| id.clone());
                }
                let parsed = serde_json::from_str::<Value>(&event.data).ok();
                hooks.on_event(event.id.as_deref(), parsed.as_ref());
                if let Some(message) = parsed {
                    if message.get("method").is_none()
                        && message.get("id").and_then(Value::as_i64) == Some(id)
                    {
                        // Read the stream to its end (briefly), as a well-behaved client
                        // does, so the server, not the client, closes it.
                        let _ = tokio::time::timeout(Duration::from_millis(500), async {
                            while let Ok(Some(_)) = response.chunk().await {}
                        })
                        .await;
                        return Ok(Read::Answered(message));
                    }
                    if message.get("method").is_some() && message.get("id").is_some() {
                        self.answer_server_request(&message).await;
                    }
                }
                if first_stream {
                    hooks.after_event(count).await;
                }
            }
        }
    }

    async fn answer_server_request(&self, request: &Value) {
        let id = request["id"].clone();
        let reply = match self.answer_question(request).await {
            None => return,
            Some(Ok(result)) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Some(Err(error)) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        let _ = tokio::time::timeout(self.limit, self.post(&reply).send()).await;
        if self.breaks(crate::scenario::ClientFault::AnswerTwice) {
            let _ = tokio::time::timeout(self.limit, self.post(&reply).send()).await;
        }
    }
}
