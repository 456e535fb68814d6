//! What stands between the scripted client and the server: the chaos proxy
//! in front of an HTTP server, or the bridge to a stdio server; opening a
//! target for `proxy`-like use, and the first request that checks it speaks
//! a version.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcp_harness_chaos::{ChaosStack, StackConfig, StdioServer, TargetProcess};
use mcp_harness_wire::WireEvent;
use serde_json::{Value, json};

use crate::pool::{ServerPool, StartError};
use crate::run::restart::Server;
use crate::run::{InputTimeout, Limits, STDIO_EXIT_GRACE, Target};

/// Why the front of a case (the proxy, or the stdio server and its bridge)
/// could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum FrontError {
    /// The HTTP target's server did not start.
    #[error(transparent)]
    Server(#[from] StartError),
    /// The stdio target's process did not start.
    #[error("the target did not start: {0}")]
    Stdio(#[from] mcp_harness_chaos::ProcessError),
    /// The recording proxy did not start.
    #[error("the chaos proxy did not start: {0}")]
    Proxy(#[from] mcp_harness_chaos::StackError),
    /// The HTTP bridge to a stdio server did not start.
    #[error("the stdio bridge did not start: {0}")]
    Bridge(std::io::Error),
    /// The transcript file could not be written.
    #[error(transparent)]
    Record(#[from] mcp_harness_chaos::recorder::RecordFileError),
}

/// Why a target failed the check before any case ([`preflight`]).
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// It did not start.
    #[error(transparent)]
    Front(#[from] FrontError),
    /// The HTTP client could not be built.
    #[error("no HTTP client: {0}")]
    Client(reqwest::Error),
    /// The first request did not reach it.
    #[error("`{method}` to {url} failed: {cause}")]
    Unreachable {
        /// The request's method.
        method: String,
        /// The MCP endpoint's URL.
        url: String,
        /// What went wrong.
        cause: reqwest::Error,
    },
    /// Its answer started and broke off.
    #[error("the answer to `{method}` at {url} broke off: {cause}")]
    BrokeOff {
        /// The request's method.
        method: String,
        /// The MCP endpoint's URL.
        url: String,
        /// What went wrong.
        cause: reqwest::Error,
    },
    /// It accepted the first request and did not answer it in time.
    #[error("the target accepted `{method}` at {url} but did not answer within {limit:?}")]
    Unanswered {
        /// The request's method.
        method: String,
        /// The MCP endpoint's URL.
        url: String,
        /// How long it was given.
        limit: Duration,
    },
    /// Starting it and asking took longer than the whole check's bound.
    #[error("the target did not answer within {limit:?}")]
    Silent {
        /// How long it was given.
        limit: Duration,
    },
    /// A stdio target closed its stdout before any message.
    #[error(
        "`{command}` closed its stdout without answering{refused} (hint: does it speak stdio?)"
    )]
    StdoutClosed {
        /// The command that started it.
        command: String,
        /// `, and refused the first request (...)` when it did.
        refused: String,
    },
    /// A stdio target wrote no message in time.
    #[error("`{command}` did not answer the first request on stdout within {limit:?}")]
    NoMessage {
        /// The command that started it.
        command: String,
        /// How long it was given.
        limit: Duration,
    },
    /// A stdio target failed, with the end of what it wrote on stderr.
    #[error("{cause}; its stderr ends with:\n{tail}")]
    WithStderr {
        /// What went wrong.
        cause: Box<PreflightError>,
        /// The last lines of its stderr.
        tail: String,
    },
}

/// What the answer to the first request says of a version the case asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum VersionAnswer {
    /// The server speaks it.
    Served,
    /// It does not, which is its right (another real version, or a 2026-07-28
    /// `server/discover` refused): the case is skipped, for this reason.
    NotServed(String),
    /// The answer is broken (a version that does not exist, a refused
    /// `initialize`, one answered without a version): the case fails.
    Broken(String),
}

/// A target opened for a look outside any case (`profile`): what to close
/// when done.
pub struct OpenedTarget {
    process: Option<TargetProcess>,
    stdio: Option<(Arc<StdioServer>, mcp_harness_chaos::StdioBridge)>,
    /// The reference agents' store, kept while they run.
    _store: Option<tempfile::TempDir>,
}

impl OpenedTarget {
    /// Stop what was started: kill the process, or end the stdio server
    /// (stdin closed, then SIGTERM, then SIGKILL).
    pub async fn close(self) {
        if let Some(mut process) = self.process {
            process.kill().await;
        }
        if let Some((stdio, bridge)) = self.stdio {
            stdio.shutdown(STDIO_EXIT_GRACE).await;
            drop(bridge);
        }
    }
}

/// Start `target` (a URL needs no start) for a look outside any case: what
/// to close afterwards, and the URL of its MCP endpoint (for a stdio target,
/// the bridge's).
pub async fn open_target(
    target: &Target,
    start: Duration,
) -> Result<(OpenedTarget, String), FrontError> {
    if let Some(command) = target.stdio_command(None, InputTimeout::Patient) {
        let limits = Limits {
            start,
            ..Limits::default()
        };
        let (front, server) = open_stdio_front(&command, limits, None).await?;
        let (Front::Stdio { bridge, .. }, Some(stdio)) = (front, server.stdio) else {
            unreachable!("open_stdio_front opens a stdio front and server");
        };
        let url = bridge.url().to_owned();
        let opened = OpenedTarget {
            process: None,
            stdio: Some((stdio, bridge)),
            _store: None,
        };
        return Ok((opened, url));
    }
    let started = crate::pool::start(target, start, InputTimeout::Patient).await?;
    let url = format!("{}{}", started.base, started.path);
    let opened = OpenedTarget {
        process: started.process,
        stdio: None,
        _store: started.store,
    };
    Ok((opened, url))
}

/// Before any case: does `target` answer the first request of `version`
/// (`initialize`, or `server/discover` from 2026-07-28) within `limit`, set-up
/// included? A target that never does would make every case wait out its
/// time limits one after the other; `Err` says why, once, for all of them.
pub async fn preflight(
    target: &Target,
    headers: &crate::target_headers::TargetHeaders,
    version: &str,
    limit: Duration,
) -> Result<(), PreflightError> {
    if let Some(command) = target.stdio_command(None, InputTimeout::Patient) {
        return preflight_stdio(&command, version, limit).await;
    }
    let check = async {
        let started = crate::pool::start(target, limit, InputTimeout::Patient)
            .await
            .map_err(FrontError::from)?;
        let (process, url) = (started.process, format!("{}{}", started.base, started.path));
        let body = first_request(version);
        let method = body["method"].as_str().unwrap_or_default().to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .default_headers(headers.map())
            .build()
            .map_err(PreflightError::Client)?;
        // Any answer will do, an error status included: the point is that
        // something answers, not what (the cases judge that).
        let answered = async {
            let mut response = http
                .post(&url)
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .header("MCP-Protocol-Version", version)
                .json(&body)
                .send()
                .await
                .map_err(|cause| PreflightError::Unreachable {
                    method: method.clone(),
                    url: url.clone(),
                    cause,
                })?;
            // Headers alone are not an answer: wait for the first bytes (or the end).
            response
                .chunk()
                .await
                .map_err(|cause| PreflightError::BrokeOff {
                    method: method.clone(),
                    url: url.clone(),
                    cause,
                })?;
            if let Some(session) = response.headers().get("mcp-session-id").cloned() {
                let _ = http
                    .delete(&url)
                    .header("Mcp-Session-Id", session)
                    .send()
                    .await;
            }
            Ok::<(), PreflightError>(())
        };
        let result = match tokio::time::timeout(limit, answered).await {
            Ok(result) => result,
            Err(_) => Err(PreflightError::Unanswered { method, url, limit }),
        };
        if let Some(mut process) = process {
            process.kill().await;
        }
        result
    };
    match tokio::time::timeout(limit * 2 + Duration::from_secs(5), check).await {
        Ok(result) => result,
        Err(_) => Err(PreflightError::Silent { limit }),
    }
}

/// What the scripted client talks to: the recording chaos proxy before an
/// HTTP server, or the bridge before a recorded stdio server.
pub(super) enum Front {
    Http {
        stack: ChaosStack,
        path: String,
    },
    Stdio {
        bridge: mcp_harness_chaos::StdioBridge,
        recorder: Arc<mcp_harness_chaos::Recorder>,
    },
}

impl Front {
    pub(super) fn recorder(&self) -> &Arc<mcp_harness_chaos::Recorder> {
        match self {
            Self::Http { stack, .. } => stack.recorder(),
            Self::Stdio { recorder, .. } => recorder,
        }
    }

    pub(super) fn client_url(&self) -> String {
        match self {
            Self::Http { stack, path } => format!("{}{path}", stack.base_url()),
            Self::Stdio { bridge, .. } => bridge.url().to_owned(),
        }
    }

    pub(super) fn stack(&self) -> Option<&ChaosStack> {
        match self {
            Self::Http { stack, .. } => Some(stack),
            Self::Stdio { .. } => None,
        }
    }

    pub(super) async fn shutdown(self) {
        if let Self::Http { stack, .. } = self {
            stack.shutdown().await;
        }
    }
}

/// Put the chaos proxy before an HTTP target's server (the pool's, or one of
/// the case's own when `own` or the pool does not reuse), a reference one
/// waiting `input_timeout` for answers.
pub(super) async fn open_http_front(
    pool: &ServerPool,
    own: bool,
    input_timeout: InputTimeout,
    limits: Limits,
    record_to: Option<PathBuf>,
) -> Result<(Front, Server), FrontError> {
    let server = if own {
        crate::pool::start(pool.target(), limits.start, input_timeout).await
    } else {
        pool.take(input_timeout).await
    }?;
    let mut config = StackConfig::new(&server.base);
    config.record_limits = limits.records;
    config.proxy.max_event_bytes = limits.max_event_bytes;
    config.record = record_to;
    let path = server.path.clone();
    let stack = match ChaosStack::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            pool.give_back(server, true).await;
            return Err(e.into());
        }
    };
    let server = Server {
        http: Some(server),
        stdio: None,
        limits,
    };
    Ok((Front::Http { stack, path }, server))
}

/// Start a stdio target, recorded, and the bridge before it.
pub(super) async fn open_stdio_front(
    command: &str,
    limits: Limits,
    record_to: Option<PathBuf>,
) -> Result<(Front, Server), FrontError> {
    let recorder = mcp_harness_chaos::Recorder::with_limits(command, limits.records);
    if let Some(path) = &record_to {
        recorder.write_to(path)?;
    }
    let (stdio, from_server) = StdioServer::start(command, recorder.clone()).await?;
    let bridge = mcp_harness_chaos::StdioBridge::start(stdio.clone(), from_server)
        .await
        .map_err(FrontError::Bridge)?;
    let server = Server {
        http: None,
        stdio: Some(stdio),
        limits,
    };
    Ok((Front::Stdio { bridge, recorder }, server))
}

/// [`preflight`] of a stdio target: does it answer the first request with a
/// line on stdout within `limit`?
async fn preflight_stdio(
    command: &str,
    version: &str,
    limit: Duration,
) -> Result<(), PreflightError> {
    let recorder = mcp_harness_chaos::Recorder::new(command);
    let (stdio, mut from_server) = StdioServer::start(command, recorder.clone())
        .await
        .map_err(FrontError::from)?;
    let first = first_request(version);
    let answered = async {
        // A process that already exited refuses the write; what it did is
        // then told by its stdout closing, as for one that exits after
        // reading the request, whichever comes first.
        let refused = match stdio.send(&first.to_string()).await {
            Ok(()) => String::new(),
            Err(e) => format!(", and refused the first request ({e})"),
        };
        // Any message will do (lines that are not messages are for the cases to judge).
        loop {
            match from_server.recv().await {
                Some(mcp_harness_chaos::FromServer::Message(..)) => return Ok(()),
                Some(mcp_harness_chaos::FromServer::NotJson(_)) => continue,
                _ => {
                    return Err(PreflightError::StdoutClosed {
                        command: command.to_owned(),
                        refused,
                    });
                }
            }
        }
    };
    let result = match tokio::time::timeout(limit, answered).await {
        Ok(result) => result,
        Err(_) => Err(PreflightError::NoMessage {
            command: command.to_owned(),
            limit,
        }),
    };
    stdio.shutdown(STDIO_EXIT_GRACE).await;
    result.map_err(|cause| {
        let stderr: Vec<String> = recorder
            .transcript()
            .records
            .into_iter()
            .filter_map(|r| match r.event {
                WireEvent::Stderr { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        let tail = stderr[stderr.len().saturating_sub(10)..].join("\n");
        if tail.is_empty() {
            cause
        } else {
            PreflightError::WithStderr {
                cause: Box::new(cause),
                tail,
            }
        }
    })
}

/// The first request of `version`: `initialize`, or `server/discover` from 2026-07-28.
fn first_request(version: &str) -> Value {
    let (method, params) = if crate::client::MODERN <= version {
        (
            "server/discover",
            json!({"_meta": {"io.modelcontextprotocol/protocolVersion": version}}),
        )
    } else {
        (
            "initialize",
            json!({"protocolVersion": version, "capabilities": {},
                "clientInfo": {"name": "mcp-harness-preflight", "version": env!("CARGO_PKG_VERSION")}}),
        )
    };
    json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
}

/// What the server's answer to `initialize` / `server/discover` says of
/// `version`: another real version is the server's right (the case is
/// skipped); a version that does not exist, a refused `initialize` or one
/// answered without a version is a broken answer (the case fails).
pub(super) fn version_answer(answer: &Value, version: &str) -> VersionAnswer {
    if let Some(error) = answer.get("error") {
        if version >= crate::client::MODERN {
            return VersionAnswer::NotServed(format!(
                "the target does not support {version}: server/discover answered {error}"
            ));
        }
        // A server that does not support the version answers with one it
        // does (basic/lifecycle#version-negotiation): a refusal ends the case.
        return VersionAnswer::Broken(format!(
            "initialize was refused: {error} (a server answers an initialize it cannot serve with the protocol version it supports, basic/lifecycle#version-negotiation)"
        ));
    }
    let Some(negotiated) = answer
        .pointer("/result/protocolVersion")
        .and_then(Value::as_str)
    else {
        if version >= crate::client::MODERN {
            return VersionAnswer::Served;
        }
        return VersionAnswer::Broken(format!(
            "initialize was answered without a protocolVersion: {answer} (basic/lifecycle#initialization)"
        ));
    };
    if !mcp_harness_checks::analysis::KNOWN_VERSIONS.contains(&negotiated) {
        return VersionAnswer::Broken(format!(
            "the server negotiated `{negotiated}`, which is no MCP protocol version (hint: it must answer with the requested version or another it supports)"
        ));
    }
    if negotiated == version {
        VersionAnswer::Served
    } else {
        VersionAnswer::NotServed(format!(
            "the target negotiated {negotiated} instead of {version}"
        ))
    }
}

/// `http://host:port` and the path of `url`.
pub fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => (
            url[..after_scheme + slash].to_owned(),
            url[after_scheme + slash..].to_owned(),
        ),
        None => (url.to_owned(), "/".to_owned()),
    }
}

/// `text` as one word for `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
