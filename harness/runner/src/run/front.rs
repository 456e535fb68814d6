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

use crate::pool::ServerPool;
use crate::run::restart::Server;
use crate::run::{Limits, STDIO_EXIT_GRACE, Target};

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
) -> Result<(OpenedTarget, String), String> {
    if let Some(command) = target.stdio_command(None) {
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
    let started = crate::pool::start(target, start)
        .await
        .map_err(|e| e.to_string())?;
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
pub async fn preflight(target: &Target, version: &str, limit: Duration) -> Result<(), String> {
    if let Some(command) = target.stdio_command(None) {
        return preflight_stdio(&command, version, limit).await;
    }
    let check = async {
        let started = crate::pool::start(target, limit)
            .await
            .map_err(|e| e.to_string())?;
        let (process, url) = (started.process, format!("{}{}", started.base, started.path));
        let body = first_request(version);
        let method = body["method"].as_str().unwrap_or_default().to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
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
                .map_err(|e| format!("`{method}` to {url} failed: {e}"))?;
            // Headers alone are not an answer: wait for the first bytes (or the end).
            response
                .chunk()
                .await
                .map_err(|e| format!("the answer to `{method}` at {url} broke off: {e}"))?;
            if let Some(session) = response.headers().get("mcp-session-id").cloned() {
                let _ = http
                    .delete(&url)
                    .header("Mcp-Session-Id", session)
                    .send()
                    .await;
            }
            Ok::<(), String>(())
        };
        let result = match tokio::time::timeout(limit, answered).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the target accepted `{method}` at {url} but did not answer within {limit:?}"
            )),
        };
        if let Some(mut process) = process {
            process.kill().await;
        }
        result
    };
    match tokio::time::timeout(limit * 2 + Duration::from_secs(5), check).await {
        Ok(result) => result,
        Err(_) => Err(format!("the target did not answer within {limit:?}")),
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
/// the case's own when `own` or the pool does not reuse).
pub(super) async fn open_http_front(
    pool: &ServerPool,
    own: bool,
    limits: Limits,
    record_to: Option<PathBuf>,
) -> Result<(Front, Server), String> {
    let server = if own {
        crate::pool::start(pool.target(), limits.start).await
    } else {
        pool.take().await
    }
    .map_err(|e| e.to_string())?;
    let mut config = StackConfig::new(&server.base);
    config.record_limits = limits.records;
    config.proxy.max_event_bytes = limits.max_event_bytes;
    config.record = record_to;
    let path = server.path.clone();
    let stack = match ChaosStack::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            pool.give_back(server, true).await;
            return Err(format!("the chaos proxy did not start: {e}"));
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
) -> Result<(Front, Server), String> {
    let recorder = mcp_harness_chaos::Recorder::with_limits(command, limits.records);
    if let Some(path) = &record_to {
        recorder.write_to(path).map_err(|e| e.to_string())?;
    }
    let (stdio, from_server) = StdioServer::start(command, recorder.clone())
        .await
        .map_err(|e| format!("the target did not start: {e}"))?;
    let bridge = mcp_harness_chaos::StdioBridge::start(stdio.clone(), from_server)
        .await
        .map_err(|e| format!("the stdio bridge did not start: {e}"))?;
    let server = Server {
        http: None,
        stdio: Some(stdio),
        limits,
    };
    Ok((Front::Stdio { bridge, recorder }, server))
}

/// [`preflight`] of a stdio target: does it answer the first request with a
/// line on stdout within `limit`?
async fn preflight_stdio(command: &str, version: &str, limit: Duration) -> Result<(), String> {
    let recorder = mcp_harness_chaos::Recorder::new(command);
    let (stdio, mut from_server) = StdioServer::start(command, recorder.clone())
        .await
        .map_err(|e| format!("the target did not start: {e}"))?;
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
                    return Err(format!(
                        "`{command}` closed its stdout without answering{refused} (hint: does it speak stdio?)"
                    ));
                }
            }
        }
    };
    let result = match tokio::time::timeout(limit, answered).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "`{command}` did not answer the first request on stdout within {limit:?}"
        )),
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
            format!("{cause}; its stderr ends with:\n{tail}")
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

/// Why the server's answer to `initialize` / `server/discover` means it does not
/// speak `version`: `Ok(Some(reason))` skips the case (another real version is
/// the server's right), `Err` fails it (a version that does not exist, a
/// refused `initialize` or one answered without a version is a broken answer).
pub(super) fn unsupported_version(answer: &Value, version: &str) -> Result<Option<String>, String> {
    if let Some(error) = answer.get("error") {
        if version >= crate::client::MODERN {
            return Ok(Some(format!(
                "the target does not support {version}: server/discover answered {error}"
            )));
        }
        // A server that does not support the version answers with one it
        // does (basic/lifecycle#version-negotiation): a refusal ends the case.
        return Err(format!(
            "initialize was refused: {error} (a server answers an initialize it cannot serve with the protocol version it supports, basic/lifecycle#version-negotiation)"
        ));
    }
    let Some(negotiated) = answer
        .pointer("/result/protocolVersion")
        .and_then(Value::as_str)
    else {
        if version >= crate::client::MODERN {
            return Ok(None);
        }
        return Err(format!(
            "initialize was answered without a protocolVersion: {answer} (basic/lifecycle#initialization)"
        ));
    };
    if !mcp_harness_checks::analysis::KNOWN_VERSIONS.contains(&negotiated) {
        return Err(format!(
            "the server negotiated `{negotiated}`, which is no MCP protocol version (hint: it must answer with the requested version or another it supports)"
        ));
    }
    Ok((negotiated != version)
        .then(|| format!("the target negotiated {negotiated} instead of {version}")))
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
