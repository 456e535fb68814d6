//! [`StdioBridge`]: a streamable HTTP face on 127.0.0.1 for a
//! [`StdioServer`], so the harness's scripted HTTP client, and every scenario
//! step that is not about HTTP itself, drives a stdio server unchanged.
//!
//! A POSTed request becomes one line on the server's stdin, answered by an SSE
//! stream carrying the server lines the [`mcp_harness_wire::stdio_route`]
//! rules give it, up to its response. A POSTed notification or response
//! becomes a line and a 202. A GET opens a stream for the server lines that
//! belong to no request. The bridge itself is not recorded: the transcript
//! holds the stdio lines, which are what crossed the wire.
//!
//! A legacy session lives as long as its process: `initialize` gets the
//! session id `stdio-process-N`, and once the server has been restarted a
//! request of the old process's session gets 404, as HTTP says of a session
//! that is gone, so the client initializes the new process.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use mcp_harness_wire::stdio_route::Route;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::stdio::{FromServer, StdioServer};

#[derive(Default)]
struct Streams {
    /// Open request streams, by the JSON text of the request id, each with
    /// the server process the request was written to.
    by_request: HashMap<String, (u64, mpsc::UnboundedSender<Value>)>,
    /// Open GET streams.
    standalone: Vec<mpsc::UnboundedSender<Value>>,
}

struct Shared {
    server: Arc<StdioServer>,
    streams: Mutex<Streams>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bridge, serving until dropped.
pub struct StdioBridge {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl StdioBridge {
    /// Serve `server` (whose lines arrive on `from_server`) at
    /// `http://127.0.0.1:{free port}/mcp`.
    pub async fn start(
        server: Arc<StdioServer>,
        mut from_server: mpsc::UnboundedReceiver<FromServer>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            server,
            streams: Mutex::new(Streams::default()),
        });
        let pump = shared.clone();
        tokio::spawn(async move {
            while let Some(line) = from_server.recv().await {
                pump.deliver(line);
            }
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}/mcp", listener.local_addr()?);
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            url,
            stop: Some(stop),
        })
    }

    /// The URL to give the HTTP client.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for StdioBridge {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Shared {
    fn deliver(&self, line: FromServer) {
        lock(&self.streams).deliver(line);
    }
}

impl Streams {
    /// Pass `line` to the stream it belongs to.
    fn deliver(&mut self, line: FromServer) {
        let streams = self;
        match line {
            FromServer::Message(message, Route::Request(id)) => {
                let key = id.to_string();
                let is_response = message.get("method").is_none();
                if let Some((_, stream)) = streams.by_request.get(&key) {
                    let _ = stream.send(message);
                }
                if is_response {
                    streams.by_request.remove(&key);
                }
            }
            FromServer::Message(message, Route::Unrelated) => {
                streams
                    .standalone
                    .retain(|stream| stream.send(message.clone()).is_ok());
            }
            // The process is gone: the streams of the requests written to it
            // end without their responses. A restarted process's requests,
            // sent before this news arrived, are not its.
            FromServer::Closed { process } => streams
                .by_request
                .retain(|_, (written_to, _)| *written_to != process),
            // Not a message: nothing to deliver (the transcript has it).
            FromServer::NotJson(_) => {}
        }
    }
}

fn status(code: StatusCode, text: &str) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(text.to_owned()))
        .unwrap_or_default()
}

/// The session id of process `process`.
fn session_of(process: u64) -> String {
    format!("stdio-process-{process}")
}

fn sse(messages: mpsc::UnboundedReceiver<Value>) -> Response {
    let events = UnboundedReceiverStream::new(messages)
        .map(|m| Ok::<Bytes, Infallible>(Bytes::from(format!("data: {m}\n\n"))));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(events))
        .unwrap_or_default()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match request.method().as_str() {
        "POST" => {}
        "GET" if request.headers().contains_key("last-event-id") => {
            return status(
                StatusCode::METHOD_NOT_ALLOWED,
                "stdio has no resumption: nothing to replay",
            );
        }
        "GET" => {
            let (tx, rx) = mpsc::unbounded_channel();
            lock(&shared.streams).standalone.push(tx);
            return sse(rx);
        }
        _ => {
            return status(
                StatusCode::METHOD_NOT_ALLOWED,
                "stdio has no sessions to end",
            );
        }
    }
    let current = session_of(shared.server.process());
    let stale = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|session| session != current);
    if stale {
        return status(
            StatusCode::NOT_FOUND,
            "the server process that held this session is gone: initialize again",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(request.into_body(), crate::stdio::MAX_LINE_BYTES).await
    else {
        return status(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    };
    // One line on the wire: the JSON as sent, without the newlines it may hold.
    let text = match serde_json::from_slice::<Value>(&bytes) {
        Ok(message) => message.to_string(),
        Err(_) => String::from_utf8_lossy(&bytes).replace('\n', " "),
    };
    let message = serde_json::from_str::<Value>(&text).ok();
    let request_id = message
        .as_ref()
        .filter(|m| m.get("method").is_some())
        .and_then(|m| m.get("id"))
        .map(Value::to_string);
    let Some(key) = request_id else {
        return match shared.server.send(&text).await {
            Ok(()) => status(StatusCode::ACCEPTED, ""),
            Err(e) => status(StatusCode::BAD_GATEWAY, &e.to_string()),
        };
    };
    let initializing = message
        .as_ref()
        .and_then(|m| m.get("method"))
        .and_then(Value::as_str)
        == Some("initialize");
    let (tx, rx) = mpsc::unbounded_channel();
    let process = shared.server.process();
    lock(&shared.streams)
        .by_request
        .insert(key.clone(), (process, tx));
    if let Err(e) = shared.server.send(&text).await {
        lock(&shared.streams).by_request.remove(&key);
        return status(StatusCode::BAD_GATEWAY, &e.to_string());
    }
    let mut response = sse(rx);
    if initializing && let Ok(session) = current.parse() {
        response.headers_mut().insert("mcp-session-id", session);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_process_that_closes_ends_its_own_requests_not_those_of_the_next_one() {
        let mut streams = Streams::default();
        let (old, mut old_rx) = mpsc::unbounded_channel();
        let (new, mut new_rx) = mpsc::unbounded_channel();
        streams.by_request.insert("3".into(), (1, old));
        streams.by_request.insert("5".into(), (2, new));
        // Process 1 was killed and process 2 already took request 5 when the
        // news of 1's stdout closing arrives.
        streams.deliver(FromServer::Closed { process: 1 });
        assert!(old_rx.try_recv().is_err() && old_rx.is_closed());
        assert!(streams.by_request.contains_key("5"));
        let answer = json!({"jsonrpc": "2.0", "id": 5, "result": {}});
        streams.deliver(FromServer::Message(
            answer.clone(),
            Route::Request(json!(5)),
        ));
        assert_eq!(new_rx.try_recv().ok(), Some(answer));
        assert!(!streams.by_request.contains_key("5"), "answered: done");
    }
}
