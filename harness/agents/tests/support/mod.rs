//! Shared pieces of the agents' integration tests: a server on an ephemeral
//! loopback port, an rmcp client with scripted answers, and a raw HTTP/SSE client.
#![allow(dead_code, deprecated)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_harness_agents::{AgentSettings, RunningAgents, ServeConfig, StoreChoice};
use mcp_harness_wire::{SseDecoder, SseEvent};
use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ClientServiceExt, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

/// Every test gives up after this long rather than hang.
pub const TEST_LIMIT: Duration = Duration::from_secs(30);

pub async fn start_agents(input_timeout: Duration) -> RunningAgents {
    start_agents_with(StoreChoice::Memory, input_timeout).await
}

pub async fn start_agents_with(store: StoreChoice, input_timeout: Duration) -> RunningAgents {
    mcp_harness_agents::serve(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        settings: AgentSettings {
            time_scale: 0.0,
            input_timeout,
        },
        store,
        ..ServeConfig::default()
    })
    .await
    .expect("agents start")
}

/// How the scripted client answers an elicitation.
#[derive(Debug, Clone)]
pub enum ElicitAnswer {
    Accept(Value),
    AcceptAfter(Duration, Value),
    Decline,
    Cancel,
    Error,
    Silence,
}

/// How the scripted client answers a sampling request.
#[derive(Debug, Clone)]
pub enum SampleAnswer {
    Text(&'static str),
    Error,
    Silence,
}

#[derive(Clone)]
pub struct ScriptedClient {
    pub version: ProtocolVersion,
    pub elicitation: bool,
    pub sampling: bool,
    pub tasks: bool,
    pub elicit: ElicitAnswer,
    pub sample: SampleAnswer,
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    pub logs: Arc<Mutex<Vec<LoggingMessageNotificationParam>>>,
    pub questions: Arc<Mutex<Vec<Value>>>,
    pub updated: Arc<Mutex<Vec<String>>>,
}

impl ScriptedClient {
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            version,
            elicitation: true,
            sampling: true,
            tasks: false,
            elicit: ElicitAnswer::Accept(json!({"confirm": true, "notes": "window seat"})),
            sample: SampleAnswer::Text("Agents are everywhere."),
            progress: Default::default(),
            logs: Default::default(),
            questions: Default::default(),
            updated: Default::default(),
        }
    }

    pub fn progress_values(&self) -> Vec<(f64, String)> {
        self.progress
            .lock()
            .unwrap()
            .iter()
            .map(|p| (p.progress, p.message.clone().unwrap_or_default()))
            .collect()
    }

    pub async fn connect(self, url: &str) -> RunningService<RoleClient, ScriptedClient> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(url.to_owned()),
        );
        if self.version >= ProtocolVersion::V_2026_07_28 {
            self.serve_with_lifecycle(
                transport,
                rmcp::service::ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .expect("client connects")
        } else {
            self.serve(transport).await.expect("client connects")
        }
    }
}

impl ClientHandler for ScriptedClient {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        if self.elicitation {
            caps.elicitation = Some(Default::default());
        }
        if self.sampling {
            caps.sampling = Some(Default::default());
        }
        if self.tasks {
            caps = serde_json::from_value({
                let mut v = serde_json::to_value(&caps).unwrap();
                v["extensions"] = json!({"io.modelcontextprotocol/tasks": {}});
                v
            })
            .unwrap();
        }
        ClientConfig::new(caps, Implementation::new("scripted-test-client", "0.1.0"))
            .with_protocol_version(self.version.clone())
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        self.questions
            .lock()
            .unwrap()
            .push(serde_json::to_value(&request).unwrap());
        match &self.elicit {
            ElicitAnswer::Accept(content) => {
                Ok(ElicitResult::new(ElicitationAction::Accept).with_content(content.clone()))
            }
            ElicitAnswer::AcceptAfter(delay, content) => {
                tokio::time::sleep(*delay).await;
                Ok(ElicitResult::new(ElicitationAction::Accept).with_content(content.clone()))
            }
            ElicitAnswer::Decline => Ok(ElicitResult::new(ElicitationAction::Decline)),
            ElicitAnswer::Cancel => Ok(ElicitResult::new(ElicitationAction::Cancel)),
            ElicitAnswer::Error => Err(ErrorData::internal_error(
                "the user interface crashed",
                None,
            )),
            ElicitAnswer::Silence => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(ErrorData::internal_error("unreachable", None))
            }
        }
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _ctx: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.questions
            .lock()
            .unwrap()
            .push(serde_json::to_value(&params).unwrap());
        match &self.sample {
            SampleAnswer::Text(text) => Ok(CreateMessageResult::new(
                SamplingMessage::assistant_text(*text),
                "scripted-model".into(),
            )),
            SampleAnswer::Error => Err(ErrorData::internal_error("the model is unavailable", None)),
            SampleAnswer::Silence => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(ErrorData::internal_error("unreachable", None))
            }
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.logs.lock().unwrap().push(params);
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.updated.lock().unwrap().push(params.uri);
    }
}

/// Text of every text block of a tool result.
pub fn result_text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The run URI a tool result links to.
pub fn run_uri(result: &CallToolResult) -> String {
    let json = serde_json::to_value(result).unwrap();
    json["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "resource_link")
        .and_then(|c| c["uri"].as_str())
        .expect("result links its run")
        .to_owned()
}

/// Read a run resource as JSON.
pub async fn read_run(client: &RunningService<RoleClient, ScriptedClient>, uri: &str) -> Value {
    let result = client
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .expect("run resource reads");
    let json = serde_json::to_value(result).unwrap();
    serde_json::from_str(json["contents"][0]["text"].as_str().unwrap()).unwrap()
}

/// A client that speaks HTTP and SSE by hand, to see event ids and send what
/// rmcp would not.
pub struct RawClient {
    pub http: reqwest::Client,
    pub url: String,
    pub session: Option<String>,
    pub version: String,
}

pub struct SseRead {
    pub status: u16,
    pub events: Vec<SseEvent>,
    pub ended: bool,
}

impl RawClient {
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            session: None,
            version: "2025-06-18".into(),
        }
    }

    fn headers(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut builder = builder
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .header("MCP-Protocol-Version", &self.version);
        if let Some(session) = &self.session {
            builder = builder.header("Mcp-Session-Id", session);
        }
        builder
    }

    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        self.headers(self.http.post(&self.url)).json(body)
    }

    pub async fn initialize(&mut self, capabilities: Value) {
        let response = self
            .post(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": self.version, "capabilities": capabilities,
                "clientInfo": {"name": "raw-test-client", "version": "0"}}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        self.session = response
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        drop(response);
        let ack = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .send()
            .await
            .unwrap();
        assert_eq!(ack.status(), 202);
    }

    /// Read SSE events from `response` until `stop` says so, the stream ends, or
    /// `limit` passes. The response is dropped afterwards (the connection cut).
    pub async fn read_events(
        response: reqwest::Response,
        limit: Duration,
        mut stop: impl FnMut(&SseEvent) -> bool,
    ) -> SseRead {
        let status = response.status().as_u16();
        let mut decoder = SseDecoder::default();
        let mut events = Vec::new();
        let mut response = response;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) | Ok(Err(_)) => {
                    return SseRead {
                        status,
                        events,
                        ended: true,
                    };
                }
                Err(_) => {
                    return SseRead {
                        status,
                        events,
                        ended: false,
                    };
                }
            };
            let mut fresh = Vec::new();
            decoder.feed(&chunk, &mut fresh).expect("valid SSE");
            for event in fresh {
                let done = stop(&event);
                events.push(event);
                if done {
                    return SseRead {
                        status,
                        events,
                        ended: false,
                    };
                }
            }
        }
    }

    pub async fn resume(&self, last_event_id: &str) -> reqwest::Response {
        let mut builder = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("MCP-Protocol-Version", &self.version)
            .header("Last-Event-ID", last_event_id);
        if let Some(session) = &self.session {
            builder = builder.header("Mcp-Session-Id", session);
        }
        builder.send().await.unwrap()
    }
}

/// The JSON-RPC message of an SSE event, if it has one.
pub fn message_of(event: &SseEvent) -> Option<Value> {
    if event.data.is_empty() {
        None
    } else {
        serde_json::from_str(&event.data).ok()
    }
}
