//! A small HTTP/SSE upstream for the proxy's tests: real sockets on 127.0.0.1.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use futures::StreamExt;

#[derive(Default)]
pub struct Upstream {
    pub posts: AtomicU64,
}

#[derive(serde::Deserialize)]
pub struct EventsQuery {
    n: u32,
    #[serde(default)]
    gap_ms: u64,
}

fn sse(
    stream: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// `n` progress notifications with ids 1..=n, then the response (id n+1).
async fn events(Query(q): Query<EventsQuery>) -> Response {
    let gap = Duration::from_millis(q.gap_ms);
    let stream = futures::stream::iter(1..=q.n + 1).then(move |i| async move {
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        let data = if i <= q.n {
            format!(r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":1,"progress":{i}}}}}"#)
        } else {
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_owned()
        };
        Ok(Bytes::from(format!("id: {i}\ndata: {data}\n\n")))
    });
    sse(stream)
}

async fn echo(State(up): State<Arc<Upstream>>, body: Bytes) -> Response {
    up.posts.fetch_add(1, Ordering::Relaxed);
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn partial() -> Response {
    sse(futures::stream::iter([Ok(Bytes::from_static(
        b"id: 1\ndata: {}\n\ndata: never finished",
    ))]))
}

async fn huge() -> Response {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures::stream::once(async { Ok(Bytes::from_static(b"data: ")) })
        .chain(futures::stream::repeat(chunk).take(64).map(Ok));
    sse(stream)
}

async fn garbage() -> Response {
    sse(futures::stream::iter([Ok(Bytes::from_static(
        b"data: \xff\xfe\n\n",
    ))]))
}

async fn hang() -> Response {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    StatusCode::OK.into_response_parts_placeholder()
}

trait Placeholder {
    fn into_response_parts_placeholder(self) -> Response;
}

impl Placeholder for StatusCode {
    fn into_response_parts_placeholder(self) -> Response {
        Response::builder()
            .status(self)
            .body(Body::empty())
            .unwrap()
    }
}

/// Start the upstream; returns its base URL and its counters.
pub async fn start_upstream() -> (String, Arc<Upstream>) {
    let state = Arc::new(Upstream::default());
    let app = axum::Router::new()
        .route("/events", get(events))
        .route("/mcp", post(echo))
        .route("/partial", get(partial))
        .route("/huge", get(huge))
        .route("/garbage", get(garbage))
        .route("/hang", get(hang))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}
