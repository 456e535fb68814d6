//! The three tools as two halves around the question they ask the client, so the
//! same behaviour runs live (legacy sessions), across multi round-trip requests
//! (2026-07-28) and inside a task.

use std::time::Duration;

use rmcp::model::{
    CallToolResult, ContentBlock, CreateMessageRequest, CreateMessageRequestParams, ElicitRequest,
    ElicitRequestParams, InputRequest, InputRequests, ProgressNotificationParam, ProgressToken,
    SamplingMessage,
};
use rmcp::{Peer, RoleServer};
use serde_json::{Value, json};

use crate::behaviour::{self as script, TravelDecision};
use crate::runs::{RunRecord, RunStatus, RunStore};

/// The tools this server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// Progress and an elicitation to confirm a price.
    Travel,
    /// Progress and a sampling request for a summary.
    Research,
    /// A log message and a progress notification per step.
    LongRunning,
    /// Several questions at once and over two rounds, roots among them.
    Itinerary,
}

impl ToolKind {
    /// Every tool, in listing order.
    pub const ALL: [ToolKind; 4] = [
        Self::Travel,
        Self::Research,
        Self::LongRunning,
        Self::Itinerary,
    ];

    /// The tool's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Travel => "travel_agent",
            Self::Research => "research_agent",
            Self::LongRunning => "long_running_agent",
            Self::Itinerary => "itinerary_agent",
        }
    }

    /// The tool named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// One-line description for `tools/list`.
    pub fn description(self) -> &'static str {
        match self {
            Self::Travel => {
                "Plan a trip: reports progress, asks the user to confirm the price (elicitation), then books or cancels."
            }
            Self::Research => {
                "Research a topic: reports progress, asks the host's model for a summary (sampling), returns the report."
            }
            Self::LongRunning => {
                "Work through many steps, sending a log message and a progress notification per step."
            }
            Self::Itinerary => {
                "Write an itinerary: asks the user for the travel dates and the client for a folder (roots) at once, then for a seat, then returns the itinerary."
            }
        }
    }

    /// JSON Schema of the arguments.
    pub fn input_schema(self) -> Value {
        match self {
            Self::Travel => json!({
                "type": "object",
                "properties": {"destination": {"type": "string", "default": "Paris", "description": "Where to travel"}},
                "additionalProperties": false
            }),
            Self::Research => json!({
                "type": "object",
                "properties": {"topic": {"type": "string", "default": "AI trends", "description": "What to research"}},
                "additionalProperties": false
            }),
            Self::LongRunning => json!({
                "type": "object",
                "properties": {"steps": {"type": "integer", "minimum": 1, "maximum": 1000, "default": script::LONG_RUNNING_STEPS}},
                "additionalProperties": false
            }),
            Self::Itinerary => json!({
                "type": "object",
                "properties": {"destination": {"type": "string", "default": "Paris", "description": "Where to travel"}},
                "additionalProperties": false
            }),
        }
    }

    /// What the tool must ask the client, if anything.
    pub fn needs(self) -> Option<ClientFeature> {
        match self {
            Self::Travel | Self::Itinerary => Some(ClientFeature::Elicitation),
            Self::Research => Some(ClientFeature::Sampling),
            Self::LongRunning => None,
        }
    }
}

/// A client capability a tool depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFeature {
    /// `elicitation`.
    Elicitation,
    /// `sampling`.
    Sampling,
}

impl ClientFeature {
    /// The capability's name in `initialize` / `clientCapabilities`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Elicitation => "elicitation",
            Self::Sampling => "sampling",
        }
    }
}

/// A tool's validated arguments.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum ToolArgs {
    /// `travel_agent(destination)`.
    Travel {
        /// Where to.
        destination: String,
    },
    /// `research_agent(topic)`.
    Research {
        /// About what.
        topic: String,
    },
    /// `long_running_agent(steps)`.
    LongRunning {
        /// How many steps.
        steps: u32,
    },
    /// `itinerary_agent(destination)`.
    Itinerary {
        /// Where to.
        destination: String,
    },
}

impl ToolArgs {
    /// Validate `arguments` for `tool`; the error names the field and what is wrong.
    pub fn parse(
        tool: ToolKind,
        arguments: Option<&serde_json::Map<String, Value>>,
    ) -> Result<Self, String> {
        let empty = serde_json::Map::new();
        let arguments = arguments.unwrap_or(&empty);
        let allowed: &[&str] = match tool {
            ToolKind::Travel | ToolKind::Itinerary => &["destination"],
            ToolKind::Research => &["topic"],
            ToolKind::LongRunning => &["steps"],
        };
        if let Some(unknown) = arguments.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "unknown argument `{unknown}` (hint: `{}` takes {})",
                tool.name(),
                allowed.join(", ")
            ));
        }
        let text = |field: &str, default: &str| -> Result<String, String> {
            match arguments.get(field) {
                None | Some(Value::Null) => Ok(default.to_owned()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(format!(
                    "argument `{field}` must be a string, got {}",
                    kind_of(other)
                )),
            }
        };
        Ok(match tool {
            ToolKind::Travel => Self::Travel {
                destination: text("destination", "Paris")?,
            },
            ToolKind::Itinerary => Self::Itinerary {
                destination: text("destination", "Paris")?,
            },
            ToolKind::Research => Self::Research {
                topic: text("topic", "AI trends")?,
            },
            ToolKind::LongRunning => {
                let steps = match arguments.get("steps") {
                    None | Some(Value::Null) => script::LONG_RUNNING_STEPS,
                    Some(v) => match v.as_u64() {
                        Some(n @ 1..=1000) => n as u32,
                        _ => {
                            return Err(format!(
                                "argument `steps` must be an integer from 1 to 1000, got {v}"
                            ));
                        }
                    },
                };
                Self::LongRunning { steps }
            }
        })
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reports a run's steps: to the run record always, and as progress
/// notifications when the client sent a progress token and a peer is listening.
pub struct Reporter {
    /// The run being reported.
    pub run_id: String,
    /// Where run records live.
    pub runs: RunStore,
    /// The peer to notify (none for a task, whose request already got its answer).
    pub peer: Option<Peer<RoleServer>>,
    /// The client's own progress token, if it sent one.
    pub token: Option<ProgressToken>,
    /// Pause after each step.
    pub step_delay: Duration,
}

impl Reporter {
    /// Report one step, then pause.
    pub async fn step(&self, (progress, message): (f64, &str)) {
        self.note(progress, message).await;
        if let (Some(peer), Some(token)) = (&self.peer, &self.token) {
            let param = ProgressNotificationParam::new(token.clone(), progress)
                .with_total(100.0)
                .with_message(message);
            if let Err(e) = peer.notify_progress(param).await {
                tracing::debug!(error = %e, "progress notification not delivered");
            }
        }
        self.pause().await;
    }

    /// Record progress in the run without notifying anyone.
    pub async fn note(&self, progress: f64, message: &str) {
        let message = message.to_owned();
        let recorded = self
            .runs
            .update(&self.run_id, |run| {
                run.progress = progress;
                run.steps.push(message);
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, run = %self.run_id, "could not record progress");
        }
    }

    /// Wait one step's time.
    pub async fn pause(&self) {
        if !self.step_delay.is_zero() {
            tokio::time::sleep(self.step_delay).await;
        }
    }

    /// Mark the run as waiting for `input` (the input requests as JSON).
    pub async fn waiting_for(&self, input: Value) {
        let recorded = self
            .runs
            .update(&self.run_id, |run| {
                run.status = RunStatus::InputRequired;
                run.pending_input = Some(input);
            })
            .await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, run = %self.run_id, "could not record the wait for input");
        }
    }

    /// Mark the run as working again after its input arrived.
    pub async fn resumed(&self) {
        let _ = self
            .runs
            .update(&self.run_id, |run| {
                run.status = RunStatus::Working;
                run.pending_input = None;
            })
            .await;
    }

    /// Finish with a one-text result; an error result unless the run completed or
    /// the user said no.
    pub async fn finish_text(&self, status: RunStatus, text: impl Into<String>) -> CallToolResult {
        let content = vec![ContentBlock::text(text.into())];
        let result = match status {
            RunStatus::Completed | RunStatus::Cancelled => CallToolResult::success(content),
            _ => CallToolResult::error(content),
        };
        self.finish(status, result).await
    }

    /// Store the run's final result and status; returns the result with a link
    /// to the run resource appended.
    pub async fn finish(&self, status: RunStatus, result: CallToolResult) -> CallToolResult {
        let json = serde_json::to_value(&result).ok();
        let stored = self
            .runs
            .update(&self.run_id, |run| {
                run.status = status;
                run.pending_input = None;
                run.result = json;
            })
            .await;
        let mut result = result;
        match stored {
            Ok(Some(run)) => result.content.push(run_link(&run)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, run = %self.run_id, "could not store the run's result")
            }
        }
        result
    }
}

/// A resource link to `run`.
pub fn run_link(run: &RunRecord) -> ContentBlock {
    let resource = serde_json::from_value(json!({
        "uri": run.uri(),
        "name": format!("run-{}", run.id),
        "title": format!("{} run {}", run.tool, run.id),
        "description": "Durable record of this tool call: status, progress, partial and final results",
        "mimeType": "application/json"
    }))
    .expect("a resource literal always decodes");
    ContentBlock::resource_link(resource)
}

/// What a tool asks the client in the middle of a run.
#[derive(Debug, Clone)]
pub enum Question {
    /// The travel agent's price confirmation.
    Elicit(ElicitRequestParams),
    /// The research agent's summary request.
    Sample(CreateMessageRequestParams),
}

impl Question {
    /// The key of this question in `inputRequests` / `inputResponses`.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Elicit(_) => "confirm_price",
            Self::Sample(_) => "summary",
        }
    }

    /// The kind of question, to judge the shape of its answer.
    pub fn asked(&self) -> super::inputs::Asked {
        match self {
            Self::Elicit(_) => super::inputs::Asked::Elicitation,
            Self::Sample(_) => super::inputs::Asked::Sampling,
        }
    }

    /// The question as a multi round-trip input request.
    pub fn input_request(&self) -> InputRequest {
        match self {
            Self::Elicit(params) => InputRequest::Elicitation(ElicitRequest::new(params.clone())),
            Self::Sample(params) => {
                InputRequest::CreateMessage(CreateMessageRequest::new(params.clone()))
            }
        }
    }

    /// The question as an `inputRequests` map.
    pub fn input_requests(&self) -> InputRequests {
        InputRequests::from([(self.key().to_owned(), self.input_request())])
    }
}

/// The question a tool with `args` asks, if it asks one (no steps taken).
pub fn question_for(args: &ToolArgs) -> Option<Question> {
    match args {
        ToolArgs::Travel { destination } => {
            let schema = serde_json::from_value(script::confirm_price_schema())
                .expect("the confirmation schema is a valid elicitation schema");
            Some(Question::Elicit(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message: script::confirm_price_message(destination),
                    requested_schema: schema,
                },
            ))
        }
        ToolArgs::Research { topic } => Some(Question::Sample(CreateMessageRequestParams::new(
            vec![SamplingMessage::user_text(script::summary_prompt(topic))],
            script::SUMMARY_MAX_TOKENS,
        ))),
        ToolArgs::LongRunning { .. } | ToolArgs::Itinerary { .. } => None,
    }
}

/// The first half of a tool that asks the client something: the steps before the
/// question, and the question.
pub async fn before_question(reporter: &Reporter, args: &ToolArgs) -> Option<Question> {
    let steps: &[script::Step] = match args {
        ToolArgs::Travel { .. } => &script::TRAVEL_BEFORE_CONFIRM,
        ToolArgs::Research { .. } => &script::RESEARCH_BEFORE_SUMMARY,
        ToolArgs::LongRunning { .. } | ToolArgs::Itinerary { .. } => return None,
    };
    for step in steps {
        reporter.step(*step).await;
    }
    question_for(args)
}

/// The second half: what the tool does with the client's answer (`Ok`: the
/// result JSON; `Err`: why there is none). Never books without an accepted
/// confirmation.
pub async fn after_answer(
    reporter: &Reporter,
    args: &ToolArgs,
    answer: Result<Value, String>,
) -> CallToolResult {
    match args {
        ToolArgs::Travel { destination } => {
            let decision = match answer {
                Ok(answer) => script::decide_travel(&answer),
                Err(reason) => TravelDecision::Invalid(reason),
            };
            match decision {
                TravelDecision::Book { notes } => {
                    for step in script::TRAVEL_AFTER_CONFIRM {
                        reporter.step(step).await;
                    }
                    let text = script::booked_text(destination, &notes);
                    reporter.finish_text(RunStatus::Completed, text).await
                }
                TravelDecision::Declined => {
                    reporter.step(script::TRAVEL_DECLINED).await;
                    let text = script::declined_text(destination);
                    reporter.finish_text(RunStatus::Cancelled, text).await
                }
                TravelDecision::Cancelled => {
                    let text = script::cancelled_text(destination);
                    reporter.finish_text(RunStatus::Cancelled, text).await
                }
                TravelDecision::Invalid(reason) => {
                    let text = script::confirm_failed_text(&reason);
                    reporter.finish_text(RunStatus::Failed, text).await
                }
            }
        }
        ToolArgs::Research { topic } => match answer.and_then(|a| script::sampled_text(&a)) {
            Ok(summary) => {
                for step in script::RESEARCH_AFTER_SUMMARY {
                    reporter.step(step).await;
                }
                let text = script::research_text(topic, &summary);
                reporter.finish_text(RunStatus::Completed, text).await
            }
            Err(reason) => {
                let text = script::summary_failed_text(&reason);
                reporter.finish_text(RunStatus::Failed, text).await
            }
        },
        ToolArgs::LongRunning { .. } | ToolArgs::Itinerary { .. } => {
            reporter
                .finish_text(RunStatus::Failed, "this tool asks no single question")
                .await
        }
    }
}

/// A result for a client that lacks `feature`: nothing is sent to it.
pub fn missing_feature_result(tool: ToolKind, feature: ClientFeature) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "`{}` needs the client capability `{}`, which this client did not declare; nothing was asked and nothing was done",
        tool.name(),
        feature.name()
    ))])
}
