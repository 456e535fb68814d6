//! Serve the reference agents over streamable HTTP: store, sessions, security
//! limits and the axum listener, started and stopped as one value.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::runs::RunStore;
use crate::server::{AgentSettings, AgentsFactory};
use crate::sessions::GuardedSessionManager;
use crate::store::{
    Backend, DurableSessionStore, MemoryBackend, ResumableEventStore, Retention, SqliteBackend,
    StoreError,
};

/// The path the MCP endpoint is served at.
pub const MCP_PATH: &str = "/mcp";

/// Where durable state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// Process memory: nothing survives a restart.
    Memory,
    /// An SQLite database file: events, sessions and runs survive a restart.
    Sqlite(PathBuf),
}

impl std::str::FromStr for StoreChoice {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(if text == "memory" {
            Self::Memory
        } else {
            Self::Sqlite(PathBuf::from(text))
        })
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Agent behaviour (time scale, input timeout).
    pub settings: AgentSettings,
    /// Where durable state lives.
    pub store: StoreChoice,
    /// How many events to keep.
    pub retention: Retention,
    /// Largest accepted POST body; larger ones get 413.
    pub max_body_bytes: usize,
    /// The SSE `retry:` hint sent in each stream's priming event.
    pub sse_retry: Duration,
    /// Extra `Host` names to accept besides the loopback names.
    pub extra_hosts: Vec<String>,
    /// Extra browser origins to accept besides loopback ones.
    pub extra_origins: Vec<String>,
    /// Serve only requests that carry `Authorization: Bearer` and this token
    /// (a fixed credential: no authorization server yet); others get 401.
    pub bearer_token: Option<BearerToken>,
}

/// A fixed bearer token the agents require; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8006)),
            settings: AgentSettings::default(),
            store: StoreChoice::Memory,
            retention: Retention::default(),
            max_body_bytes: 4 * 1024 * 1024,
            sse_retry: Duration::from_millis(1000),
            extra_hosts: Vec::new(),
            extra_origins: Vec::new(),
            bearer_token: None,
        }
    }
}

/// Why the agents could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store did not open.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error(
        "cannot listen on `{addr}`: {source} (hint: pick another port with --listen, or 127.0.0.1:0 for any free one)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The stdio session could not start or broke (its first message was not
    /// an MCP start, say).
    #[error("stdio: {0}")]
    Stdio(String),
}

/// The agents, serving until [`RunningAgents::shutdown`] or drop.
pub struct RunningAgents {
    addr: SocketAddr,
    cancel: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    factory: AgentsFactory,
}

impl RunningAgents {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}{MCP_PATH}", self.addr)
    }

    /// The run store, for inspection.
    pub fn runs(&self) -> &RunStore {
        self.factory.runs()
    }

    /// Stop accepting requests, end sessions and wait for the listener to close.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
    }

    /// Serve until the process is stopped.
    pub async fn wait(mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for RunningAgents {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn loopback_origins() -> Vec<String> {
    [
        "http://localhost:*",
        "http://127.0.0.1:*",
        "http://[::1]:*",
        "https://localhost:*",
        "https://127.0.0.1:*",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Whether a request's `MCP-Protocol-Version` header is 2026-07-28 or later.
pub(crate) fn speaks_2026(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v >= "2026-07-28")
}

/// 2026-07-28 has no GET stream and no resumption (a server ignores
/// `Last-Event-ID`; `subscriptions/listen` replaces the GET stream): a GET that
/// speaks it is answered 405, as a server without a GET stream answers. rmcp
/// would otherwise replay a stateless stream from its event store.
async fn no_get_in_2026(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.method() == axum::http::Method::GET && speaks_2026(request.headers()) {
        return axum::response::Response::builder()
            .status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
            .header(axum::http::header::ALLOW, "POST")
            .body(axum::body::Body::from(
                "Method Not Allowed: 2026-07-28 has no GET stream and no resumption (use subscriptions/listen; re-issue a broken request)",
            ))
            .expect("a static response is valid");
    }
    next.run(request).await
}

/// With a required token, a request without it is answered 401 with a
/// `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3: with
/// `error="invalid_token"` only when a credential was sent), and never reaches
/// the MCP service.
async fn require_token(
    axum::extract::State(token): axum::extract::State<Option<BearerToken>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let Some(BearerToken(token)) = token else {
        return next.run(request).await;
    };
    let sent = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let challenge = match sent {
        Some(value) if value == format!("Bearer {token}").as_bytes() => {
            return next.run(request).await;
        }
        Some(_) => {
            r#"Bearer realm="mcp-harness", error="invalid_token", error_description="the token is not the one this server was started with""#
        }
        None => r#"Bearer realm="mcp-harness""#,
    };
    axum::response::Response::builder()
        .status(axum::http::StatusCode::UNAUTHORIZED)
        .header(axum::http::header::WWW_AUTHENTICATE, challenge)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(
            r#"{"error":"invalid_token","error_description":"this server needs a bearer token"}"#,
        ))
        .expect("a static response is valid")
}

/// Open the durable store `choice` and its run store.
pub(crate) async fn open_store(
    choice: &StoreChoice,
) -> Result<(Arc<dyn Backend>, RunStore), ServeError> {
    let backend: Arc<dyn Backend> = match choice {
        StoreChoice::Memory => Arc::new(MemoryBackend::new()),
        StoreChoice::Sqlite(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || SqliteBackend::open(path))
                .await
                .map_err(|_| StoreError::WriterGone)??
        }
    };
    let runs = {
        let backend = backend.clone();
        tokio::task::spawn_blocking(move || RunStore::open(backend))
            .await
            .map_err(|_| StoreError::WriterGone)??
    };
    Ok((backend, runs))
}

/// Open the store, build the MCP service and start listening.
pub async fn serve(config: ServeConfig) -> Result<RunningAgents, ServeError> {
    let (backend, runs) = open_store(&config.store).await?;
    let events = ResumableEventStore::new(backend.clone(), config.retention);
    let factory = AgentsFactory::new(config.settings, runs);
    let cancel = CancellationToken::new();

    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(config.extra_hosts.iter().cloned());
    let mut origins = loopback_origins();
    origins.extend(config.extra_origins.iter().cloned());
    let mut http = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_cancellation_token(cancel.child_token());
    http.allowed_origins = origins;
    http.max_request_body_bytes = config.max_body_bytes;
    http.sse_retry = Some(config.sse_retry);
    http.session_store = Some(Arc::new(DurableSessionStore::new(backend)));

    let handlers = factory.clone();
    let service = StreamableHttpService::new(
        move || Ok(handlers.handler()),
        Arc::new(GuardedSessionManager::new(events, config.sse_retry)),
        http,
    );
    let router = axum::Router::new()
        .nest_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn(crate::server_info::stamp_results))
        .layer(axum::middleware::from_fn(no_get_in_2026))
        .layer(axum::middleware::from_fn_with_state(
            config.bearer_token.clone(),
            require_token,
        ));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let stop = cancel.clone();
    let server = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled_owned().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the agents' HTTP server stopped");
        }
    });
    tracing::info!(%addr, "reference agents listening");
    Ok(RunningAgents {
        addr,
        cancel,
        server: Some(server),
        factory,
    })
}
