//! [`ReferenceAgents`]: the rmcp `ServerHandler` of the travel, research and
//! long-running agents, for both protocol eras.
//!
//! - Legacy sessions (2025-03-26 .. 2025-11-25): elicitation and sampling are
//!   server-to-client requests on the originating request's stream.
//! - 2026-07-28: the question goes back as an `InputRequiredResult` with a sealed
//!   request state; the client's retry carries the answer. A client that declares
//!   the tasks extension gets a task instead, answered through `tasks/update`.
//!
//! Every call is a durable run (see [`crate::runs`]) linked from its result.

mod catalog;
pub mod flows;
mod inputs;
mod itinerary;
mod subscriptions;
mod tasks;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ClientCapabilities,
    CompleteRequestParams, CompleteResult, ContentBlock, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, GetTaskParams, GetTaskResult, Implementation, InputRequests,
    InputRequiredResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, LoggingLevel, LoggingMessageNotificationParam, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, Reference, RequestStateCodec,
    RequestStateError, SealOptions, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::behaviour as script;
use crate::runs::{RUN_URI_PREFIX, RunRecord, RunStatus, RunStore};
use flows::{ClientFeature, Question, Reporter, ToolArgs, ToolKind};
use inputs::Gathered;
pub use subscriptions::Subscriptions;
use tasks::TaskBoard;

/// How the agents behave, whatever the transport.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentSettings {
    /// Multiplies every step's sleep (1.0 = the original 2 s a step, 0 = none).
    pub time_scale: f64,
    /// How long a run waits for the client's answer before it fails.
    pub input_timeout: Duration,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            input_timeout: Duration::from_secs(60),
        }
    }
}

impl AgentSettings {
    fn step_delay(&self) -> Duration {
        Duration::from_secs_f64((script::STEP_SECONDS * self.time_scale).clamp(0.0, 3600.0))
    }
}

struct Shared {
    settings: AgentSettings,
    runs: RunStore,
    subscriptions: Subscriptions,
    codec: RequestStateCodec,
    tasks: TaskBoard,
    next_session: AtomicU64,
}

/// What a sealed `requestState` carries between the rounds of one tool call.
#[derive(Debug, Serialize, Deserialize)]
struct RoundState {
    run: String,
    args: ToolArgs,
}

/// The reference agents. One value per legacy session or per 2026-07-28 request;
/// all share runs, subscriptions and tasks.
#[derive(Clone)]
pub struct ReferenceAgents {
    shared: Arc<Shared>,
    session: u64,
    /// Lowest level of log messages this session wants (`logging/setLevel`).
    log_level: Arc<AtomicU8>,
}

/// Creates [`ReferenceAgents`] handlers that share one state.
#[derive(Clone)]
pub struct AgentsFactory {
    shared: Arc<Shared>,
}

impl AgentsFactory {
    /// Agents over `runs`, behaving per `settings`. Starts the task that tells
    /// subscribers about run changes (it ends when the run store is dropped).
    pub fn new(settings: AgentSettings, runs: RunStore) -> Self {
        let subscriptions = Subscriptions::default();
        subscriptions.spawn_notifier(&runs);
        // The key that seals requestState lives in the store: on a durable
        // store a retry sealed before a restart still opens after it.
        let key = runs
            .durable_secret("request-state-key", 32)
            .unwrap_or_else(|_| {
                let mut key = Vec::with_capacity(32);
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                key
            });
        let codec = RequestStateCodec::try_new(key).expect("a 32-byte key is long enough");
        Self {
            shared: Arc::new(Shared {
                settings,
                runs,
                subscriptions,
                codec,
                tasks: TaskBoard::default(),
                next_session: AtomicU64::new(1),
            }),
        }
    }

    /// A handler for one session (or one stateless request).
    pub fn handler(&self) -> ReferenceAgents {
        ReferenceAgents {
            shared: self.shared.clone(),
            session: self.shared.next_session.fetch_add(1, Ordering::Relaxed),
            log_level: Arc::new(AtomicU8::new(level_rank(LoggingLevel::Info))),
        }
    }

    /// The run store the agents write to.
    pub fn runs(&self) -> &RunStore {
        &self.shared.runs
    }
}

fn level_rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// The fingerprint of the request's `Authorization` header, if it has one
/// (the agents never keep a credential, only this).
fn credential_of(ctx: &RequestContext<RoleServer>) -> Option<String> {
    let parts = ctx.extensions.get::<axum::http::request::Parts>()?;
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    Some(mcp_harness_wire::credential::fingerprint(
        &String::from_utf8_lossy(value.as_bytes()),
    ))
}

fn is_modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

fn declares(caps: Option<&ClientCapabilities>, feature: ClientFeature) -> bool {
    caps.is_some_and(|c| match feature {
        ClientFeature::Elicitation => c.elicitation.is_some(),
        ClientFeature::Sampling => c.sampling.is_some(),
    })
}

/// How long a list result may be cached (2026-07-28, SEP-2549).
#[derive(Clone, Copy)]
enum Freshness {
    /// Not a cacheable result.
    NotCached,
    /// The same for every client for a minute (tools, prompts, templates).
    Static,
    /// Changes with every run: stale at once, for this client only.
    Live,
}

/// `result` as 2026-07-28 shapes it: `resultType` on every result (rmcp
/// drops it again for older peers), `ttlMs` and `cacheScope` on cacheable ones.
fn shaped(mut result: Value, ctx: &RequestContext<RoleServer>, freshness: Freshness) -> Value {
    result["resultType"] = json!("complete");
    if is_modern(ctx) {
        let (ttl, scope) = match freshness {
            Freshness::NotCached => return result,
            Freshness::Static => (60_000, "public"),
            Freshness::Live => (0, "private"),
        };
        result["ttlMs"] = json!(ttl);
        result["cacheScope"] = json!(scope);
    }
    result
}

/// The client's answer to a live question, as JSON, if it comes within
/// `limit`; otherwise why not.
async fn answer_within<T: Serialize, E: std::fmt::Display>(
    limit: Duration,
    asked: impl std::future::Future<Output = Result<T, E>>,
) -> Result<Value, String> {
    match tokio::time::timeout(limit, asked).await {
        Ok(Ok(answer)) => Ok(serde_json::to_value(answer).unwrap_or_default()),
        Ok(Err(e)) => Err(format!("the client answered with an error ({e})")),
        Err(_) => Err(format!("no answer within the input timeout of {limit:?}")),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, McpError> {
    serde_json::from_value(value).map_err(|e| McpError::internal_error(e.to_string(), None))
}

fn store_error(e: crate::store::StoreError) -> McpError {
    McpError::internal_error(format!("run store: {e}"), None)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ReferenceAgents {
    fn reporter(&self, run: &RunRecord, ctx: Option<&RequestContext<RoleServer>>) -> Reporter {
        Reporter {
            run_id: run.id.clone(),
            runs: self.shared.runs.clone(),
            peer: ctx.map(|c| c.peer.clone()),
            token: ctx.and_then(|c| c.meta.get_progress_token()),
            step_delay: self.shared.settings.step_delay(),
        }
    }

    /// Whether this request wants info logs: the level in its `_meta`, else the
    /// session's (`logging/setLevel`). From 2026-07-28 there is no session level:
    /// a request without `io.modelcontextprotocol/logLevel` gets no log messages.
    fn wants_info_logs(&self, ctx: &RequestContext<RoleServer>) -> bool {
        let wanted = match ctx.meta.log_level() {
            Some(level) => level_rank(level),
            None if is_modern(ctx) => return false,
            None => self.log_level.load(Ordering::Relaxed),
        };
        wanted <= level_rank(LoggingLevel::Info)
    }

    /// `long_running_agent`: a log message and a progress step per step.
    async fn long_running(
        &self,
        reporter: &Reporter,
        steps: u32,
        ctx: Option<&RequestContext<RoleServer>>,
    ) -> CallToolResult {
        for step in 1..=steps {
            let message = format!("Step {step}/{steps}: processing");
            if let Some(ctx) = ctx.filter(|c| self.wants_info_logs(c)) {
                #[allow(deprecated)]
                let sent = ctx
                    .peer
                    .notify_logging_message(
                        LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message))
                            .with_logger("long_running_agent"),
                    )
                    .await;
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "log message not delivered");
                }
            }
            reporter
                .step((script::long_running_progress(step, steps), &message))
                .await;
        }
        let text = format!("Completed {steps} steps");
        reporter
            .finish(
                RunStatus::Completed,
                CallToolResult::success(vec![ContentBlock::text(text)]),
            )
            .await
    }

    /// Ask a legacy-session client `question` live, bounded by the input timeout.
    async fn ask_live(
        &self,
        ctx: &RequestContext<RoleServer>,
        question: Question,
    ) -> Result<Value, String> {
        let limit = self.shared.settings.input_timeout;
        let asked = async {
            match question {
                Question::Elicit(params) => ctx
                    .peer
                    .create_elicitation(params)
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
                #[allow(deprecated)]
                Question::Sample(params) => ctx
                    .peer
                    .create_message(params)
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or_default()),
            }
        };
        answer_within(limit, asked).await
    }

    /// First call of a tool.
    async fn start_call(
        &self,
        tool: ToolKind,
        args: ToolArgs,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caps = ctx.client_capabilities();
        if let Some(feature) = tool.needs()
            && !declares(caps.as_ref(), feature)
        {
            return Ok(flows::missing_feature_result(tool, feature).into());
        }
        if let ToolArgs::Itinerary { destination } = args {
            return self.itinerary_start(destination, ctx).await;
        }
        let modern = is_modern(ctx);
        let arguments = serde_json::to_value(&args).unwrap_or_default();
        let run = self
            .shared
            .runs
            .start(tool.name(), arguments, credential_of(ctx))
            .await
            .map_err(store_error)?;
        if modern && caps.as_ref().is_some_and(|c| c.supports_tasks()) {
            return Ok(tasks::start(self.clone(), run, args).into());
        }
        let reporter = self.reporter(&run, Some(ctx));
        let work = async {
            if let ToolArgs::LongRunning { steps } = args {
                return Ok(self.long_running(&reporter, steps, Some(ctx)).await.into());
            }
            let Some(question) = flows::before_question(&reporter, &args).await else {
                return Err(McpError::internal_error("tool asked no question", None));
            };
            if modern {
                return self
                    .ask_next_round(&reporter, run.id.clone(), args.clone(), question)
                    .await;
            }
            let answer = self.ask_live(ctx, question).await;
            Ok(flows::after_answer(&reporter, &args, answer).await.into())
        };
        tokio::select! {
            outcome = work => outcome,
            _ = ctx.ct.cancelled() => {
                reporter.finish(RunStatus::Cancelled, CallToolResult::error(vec![ContentBlock::text("cancelled by the client")])).await;
                Err(McpError::internal_error("request cancelled", None))
            }
        }
    }

    /// 2026-07-28: send `question` back as an `InputRequiredResult` whose sealed
    /// state names the run; fail the run if no retry comes within the timeout.
    async fn ask_next_round(
        &self,
        reporter: &Reporter,
        run: String,
        args: ToolArgs,
        question: Question,
    ) -> Result<CallToolResponse, McpError> {
        let limit = self.shared.settings.input_timeout;
        let requests = question.input_requests();
        let pending = serde_json::to_value(&requests).unwrap_or_default();
        reporter.waiting_for(pending.clone()).await;
        let tool = tool_of(&args);
        let state = RoundState {
            run: run.clone(),
            args,
        };
        let sealed = self.seal(&state, tool.name())?;
        let reason = format!("no answer within the input timeout of {limit:?}");
        let text = match tool {
            ToolKind::Research => script::summary_failed_text(&reason),
            _ => script::confirm_failed_text(&reason),
        };
        self.expire_unanswered(run, pending, text);
        Ok(InputRequiredResult::new(Some(requests), Some(sealed)).into())
    }

    /// Seal `state` for the retries of `scope` (a tool or prompt name), valid
    /// for the input timeout.
    fn seal<T: Serialize>(&self, state: &T, scope: &str) -> Result<String, McpError> {
        self.shared
            .codec
            .seal_json_with(
                state,
                &SealOptions::new()
                    .associated_data(scope.as_bytes())
                    .ttl(self.shared.settings.input_timeout),
            )
            .map_err(|e| McpError::internal_error(e.to_string(), None))
    }

    /// Open a `requestState` sealed for `scope`: invalid params when it has
    /// expired, was modified, or was sealed for something else.
    fn open<T: serde::de::DeserializeOwned>(
        &self,
        sealed: &str,
        scope: &str,
    ) -> Result<T, McpError> {
        self.shared
            .codec
            .open_json_with(sealed, scope.as_bytes())
            .map_err(|e| match e {
                RequestStateError::Expired => McpError::invalid_params(
                    format!("requestState has expired: the answer came after the input timeout of {:?}; ask again", self.shared.settings.input_timeout),
                    None,
                ),
                other => {
                    tracing::warn!(error = %other, "requestState rejected");
                    McpError::invalid_params(
                        format!("invalid requestState: it was not issued by this server for `{scope}`, or it was modified (hint: send it back exactly as received)"),
                        None,
                    )
                }
            })
    }

    /// The run `id` that a sealed state names, which must still wait for the
    /// input `keys` (a state is good for one round).
    async fn waiting_run(&self, id: &str, keys: &[&str]) -> Result<RunRecord, McpError> {
        let run = self
            .shared
            .runs
            .get(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                McpError::invalid_params(format!("requestState names unknown run `{id}`"), None)
            })?;
        let pending = run.pending_input.as_ref().and_then(Value::as_object);
        let waits = run.status == RunStatus::InputRequired
            && keys
                .iter()
                .all(|k| pending.is_some_and(|p| p.contains_key(*k)));
        if !waits {
            return Err(McpError::invalid_params(
                format!(
                    "run `{}` is not waiting for this input (it is {:?}); a requestState is good for one round",
                    run.id, run.status
                ),
                None,
            ));
        }
        Ok(run)
    }

    /// Fail `run` with an error result of `text` if, after the input timeout,
    /// it still waits for the same `pending` input.
    fn expire_unanswered(&self, run: String, pending: Value, text: String) {
        let runs = self.shared.runs.clone();
        let limit = self.shared.settings.input_timeout;
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            let expired = runs.get(&run).await.ok().flatten();
            if expired.is_some_and(|r| {
                r.status == RunStatus::InputRequired && r.pending_input.as_ref() == Some(&pending)
            }) {
                let result =
                    serde_json::to_value(CallToolResult::error(vec![ContentBlock::text(text)]))
                        .ok();
                let _ = runs
                    .update(&run, |r| {
                        r.status = RunStatus::Failed;
                        r.pending_input = None;
                        r.result = result;
                    })
                    .await;
            }
        });
    }

    /// 2026-07-28: the retry of a tool call that carries the client's answer.
    async fn continue_call(
        &self,
        tool: ToolKind,
        request: &CallToolRequestParams,
        sealed: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let state: RoundState = self.open(sealed, tool.name())?;
        let Some(question) = flows::question_for(&state.args) else {
            return Err(McpError::invalid_params(
                format!(
                    "`{}` asks no question; it takes no requestState",
                    tool.name()
                ),
                None,
            ));
        };
        let key = question.key();
        let run = self.waiting_run(&state.run, &[key]).await?;
        let gathered = inputs::gather(&[(key, question.asked())], request.input_responses.as_ref())
            .map_err(|m| McpError::invalid_params(m, None))?;
        let mut answers = match gathered {
            // The answer is missing: ask again, under the same (still valid) state.
            Gathered::Missing(_) => {
                return Ok(InputRequiredResult::new(
                    Some(question.input_requests()),
                    Some(sealed.to_owned()),
                )
                .into());
            }
            Gathered::Complete(answers) => answers,
        };
        let reporter = self.reporter(&run, Some(ctx));
        reporter.resumed().await;
        let answer = answers
            .remove(key)
            .ok_or_else(|| format!("the retry carried no input response `{key}`"));
        Ok(flows::after_answer(&reporter, &state.args, answer)
            .await
            .into())
    }
}

fn tool_of(args: &ToolArgs) -> ToolKind {
    match args {
        ToolArgs::Travel { .. } => ToolKind::Travel,
        ToolArgs::Research { .. } => ToolKind::Research,
        ToolArgs::LongRunning { .. } => ToolKind::LongRunning,
        ToolArgs::Itinerary { .. } => ToolKind::Itinerary,
    }
}

impl ServerHandler for ReferenceAgents {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_logging()
                .enable_completions()
                .enable_prompts()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_resources_list_changed()
                .enable_tools()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new(crate::server_info::SERVER_NAME, env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Reference agents of mcp-harness: travel_agent (progress + elicitation), research_agent \
             (progress + sampling), long_running_agent (logging), itinerary_agent (several questions at once \
             and over two rounds, roots among them). Every call is a durable run at harness://runs/{id}.",
        )
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&[
            ProtocolVersion::V_2025_03_26,
            ProtocolVersion::V_2025_06_18,
            ProtocolVersion::V_2025_11_25,
            ProtocolVersion::V_2026_07_28,
        ])
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools: Vec<Value> = ToolKind::ALL
            .iter()
            .map(|t| json!({"name": t.name(), "description": t.description(), "inputSchema": t.input_schema()}))
            .collect();
        let cursor = request.as_ref().and_then(|r| r.cursor.as_deref());
        let (tools, next) = catalog::page(&tools, cursor, catalog::TOOLS_PAGE)
            .map_err(|m| McpError::invalid_params(m, None))?;
        from_json(shaped(
            json!({ "tools": tools, "nextCursor": next }),
            &ctx,
            Freshness::Static,
        ))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        from_json(shaped(
            json!({ "prompts": catalog::prompts() }),
            &ctx,
            Freshness::Static,
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let mut arguments = request.arguments.clone().unwrap_or_default();
        let mut result = catalog::prompt(&request.name, &arguments)
            .map_err(|m| McpError::invalid_params(m, None))?;
        let asks = request.name == catalog::BRIEF_PROMPT
            && is_modern(&ctx)
            && declares(
                ctx.client_capabilities().as_ref(),
                ClientFeature::Elicitation,
            );
        if asks {
            let scope = format!("prompt:{}", catalog::BRIEF_PROMPT);
            let question = || -> Result<InputRequests, McpError> {
                from_json(json!({ catalog::TRAVELLER: catalog::traveller_question() }))
            };
            let Some(sealed) = request.request_state.as_deref() else {
                let sealed = self.seal(&arguments, &scope)?;
                return Ok(InputRequiredResult::new(Some(question()?), Some(sealed)).into());
            };
            arguments = self.open(sealed, &scope)?;
            let asked = [(catalog::TRAVELLER, inputs::Asked::Elicitation)];
            match inputs::gather(&asked, request.input_responses.as_ref())
                .map_err(|m| McpError::invalid_params(m, None))?
            {
                Gathered::Missing(_) => {
                    return Ok(InputRequiredResult::new(
                        Some(question()?),
                        Some(sealed.to_owned()),
                    )
                    .into());
                }
                Gathered::Complete(answers) => {
                    let name = answers
                        .get(catalog::TRAVELLER)
                        .map(catalog::traveller_name)
                        .unwrap_or_default();
                    arguments.insert(catalog::TRAVELLER.into(), json!(name));
                    result = catalog::prompt(&request.name, &arguments)
                        .map_err(|m| McpError::invalid_params(m, None))?;
                }
            }
        }
        let result: GetPromptResult = from_json(shaped(result, &ctx, Freshness::NotCached))?;
        Ok(result.into())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let prefix = request.argument.value.as_str();
        let values = match &request.r#ref {
            Reference::Prompt(prompt) => {
                catalog::complete_prompt_argument(&prompt.name, &request.argument.name, prefix)
                    .unwrap_or_default()
            }
            Reference::Resource(template)
                if template.uri == format!("{RUN_URI_PREFIX}{{id}}")
                    && request.argument.name == "id" =>
            {
                let runs = self.shared.runs.list(100).await.map_err(store_error)?;
                catalog::starting_with(runs.iter().map(|r| r.id.as_str()), prefix)
            }
            Reference::Resource(template) => {
                return Err(McpError::invalid_params(
                    format!(
                        "no resource template `{}` (hint: this server has {RUN_URI_PREFIX}{{id}})",
                        template.uri
                    ),
                    None,
                ));
            }
            _ => {
                return Err(McpError::invalid_params(
                    "a completion ref is `ref/prompt` or `ref/resource`",
                    None,
                ));
            }
        };
        from_json(shaped(
            catalog::completion(values),
            &ctx,
            Freshness::NotCached,
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(tool) = ToolKind::from_name(&request.name) else {
            let known: Vec<_> = ToolKind::ALL.iter().map(|t| t.name()).collect();
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool `{}` (hint: this server has {})",
                    request.name,
                    known.join(", ")
                ),
                None,
            ));
        };
        if let Some(sealed) = request.request_state.clone() {
            if !is_modern(&ctx) {
                return Err(McpError::invalid_params(
                    "requestState is only meaningful in protocol 2026-07-28",
                    None,
                ));
            }
            if tool == ToolKind::Itinerary {
                return self
                    .itinerary_continue(request.input_responses.as_ref(), &sealed, &ctx)
                    .await;
            }
            return self.continue_call(tool, &request, &sealed, &ctx).await;
        }
        let args = ToolArgs::parse(tool, request.arguments.as_ref()).map_err(|m| {
            McpError::invalid_params(
                format!("invalid arguments for `{}`: {m}", tool.name()),
                None,
            )
        })?;
        self.start_call(tool, args, &ctx).await
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.log_level
            .store(level_rank(request.level), Ordering::Relaxed);
        Ok(())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let runs = self.shared.runs.list(100).await.map_err(store_error)?;
        // A run bound to another client's credential is not this client's to
        // read (`read_resource` refuses it), so it is not listed either.
        let caller = credential_of(&ctx);
        let resources: Vec<Value> = runs
            .iter()
            .filter(|run| run.owner.is_none() || run.owner == caller)
            .map(|run| {
                json!({
                    "uri": run.uri(),
                    "name": format!("run-{}", run.id),
                    "title": format!("{} run ({:?})", run.tool, run.status),
                    "mimeType": "application/json"
                })
            })
            .collect();
        let about = json!({
            "uri": catalog::ABOUT_URI,
            "name": "about",
            "title": "About these agents",
            "mimeType": "text/plain"
        });
        let resources: Vec<Value> = std::iter::once(about).chain(resources).collect();
        from_json(shaped(
            json!({ "resources": resources }),
            &ctx,
            Freshness::Live,
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let templates = json!({"resourceTemplates": [{
            "uriTemplate": format!("{RUN_URI_PREFIX}{{id}}"),
            "name": "run",
            "description": "Durable record of one tool call",
            "mimeType": "application/json"
        }]});
        from_json(shaped(templates, &ctx, Freshness::Static))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if request.uri == catalog::ABOUT_URI {
            let about = json!({
                "contents": [{"uri": request.uri, "mimeType": "text/plain", "text": catalog::ABOUT_TEXT}]
            });
            let result: rmcp::model::ReadResourceResult =
                from_json(shaped(about, &ctx, Freshness::Static))?;
            return Ok(result.into());
        }
        let run = self.run_by_uri(&request.uri).await?;
        if run.owner.is_some() && run.owner != credential_of(&ctx) {
            return Err(McpError::resource_not_found(
                format!("no resource `{}`", request.uri),
                Some(json!({ "uri": request.uri })),
            ));
        }
        let text = serde_json::to_string_pretty(&run)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let run = json!({
            "contents": [{"uri": request.uri, "mimeType": "application/json", "text": text}]
        });
        let result: rmcp::model::ReadResourceResult =
            from_json(shaped(run, &ctx, Freshness::Live))?;
        Ok(result.into())
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.run_by_uri(&request.uri).await?;
        self.shared
            .subscriptions
            .add(&request.uri, self.session, ctx.peer.clone());
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.shared.subscriptions.remove(&request.uri, self.session);
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // Runs change (resources/updated) and appear (resources/list_changed);
        // tools and prompts never change.
        let mut accepted = SubscriptionFilter::new();
        accepted.resources_list_changed = requested.resources_list_changed;
        accepted.resource_subscriptions = requested.resource_subscriptions.clone();
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        subscriptions::listen(&self.shared.runs, context).await
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        tasks::require_extension(&ctx)?;
        let run = self.task_of(&request.task_id, &ctx).await?;
        Ok(GetTaskResult::new(tasks::detailed(&run)))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        tasks::require_extension(&ctx)?;
        let run = self.task_of(&request.task_id, &ctx).await?;
        self.shared.tasks.answer(&run.id, request.input_responses);
        Ok(())
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        tasks::require_extension(&ctx)?;
        let run = self.task_of(&request.task_id, &ctx).await?;
        if !run.status.is_terminal() {
            // Acknowledge once the cancel has taken effect, so a tasks/get
            // right after it sees the task cancelled (bounded: a task that
            // does not stop within a second is acknowledged anyway).
            let mut changes = self.shared.runs.subscribe();
            self.shared.tasks.cancel(&run.id);
            let stopped = async {
                loop {
                    let current = self.shared.runs.get(&run.id).await.ok().flatten();
                    if current.is_none_or(|r| r.status.is_terminal()) {
                        return;
                    }
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) =
                        changes.recv().await
                    {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stopped).await;
        }
        Ok(())
    }
}

impl ReferenceAgents {
    /// The run behind task `id`, for a request with the credential that
    /// created it; another client's task is answered as an unknown one, so
    /// its existence does not leak.
    async fn task_of(
        &self,
        id: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<RunRecord, McpError> {
        let run = self.run_by_id(id).await?;
        if run.owner.is_some() && run.owner != credential_of(ctx) {
            return Err(McpError::invalid_params(
                format!("unknown task `{id}`"),
                None,
            ));
        }
        Ok(run)
    }

    async fn run_by_id(&self, id: &str) -> Result<RunRecord, McpError> {
        self.shared
            .runs
            .get(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| McpError::invalid_params(format!("unknown task `{id}`"), None))
    }

    async fn run_by_uri(&self, uri: &str) -> Result<RunRecord, McpError> {
        let not_found = || {
            McpError::resource_not_found(
                format!("no resource `{uri}` (hint: runs are at {RUN_URI_PREFIX}{{id}})"),
                Some(json!({ "uri": uri })),
            )
        };
        let id = uri.strip_prefix(RUN_URI_PREFIX).ok_or_else(not_found)?;
        self.shared
            .runs
            .get(id)
            .await
            .map_err(store_error)?
            .ok_or_else(not_found)
    }
}
