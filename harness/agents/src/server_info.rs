//! `io.modelcontextprotocol/serverInfo` in the `_meta` of every 2026-07-28
//! result ("Servers SHOULD include ... in every result's _meta", basic#meta).
//!
//! rmcp 3.11 adds it only to `server/discover`, and builds some results
//! itself (the empty acknowledgements of `tasks/update` and `tasks/cancel`),
//! so one HTTP layer stamps every response a 2026-07-28 POST gets, JSON or
//! SSE, event by event as they stream. Dropping the response (a client that
//! went away) drops the server's stream behind it, so the server still sees
//! the disconnect.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use futures::StreamExt;
use serde_json::{Value, json};

/// The `_meta` key.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// The name the reference agents give themselves.
pub const SERVER_NAME: &str = "mcp-harness-reference-agents";

/// This server's `Implementation`.
pub fn server_info() -> Value {
    json!({"name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION")})
}

/// Put the server info in `message`'s result `_meta` if it is a result
/// without one; whether it changed.
pub fn stamp_message(message: &mut Value) -> bool {
    let Some(result) = message.get_mut("result").and_then(Value::as_object_mut) else {
        return false;
    };
    let meta = result.entry("_meta").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return false;
    };
    if meta.contains_key(SERVER_INFO_KEY) {
        return false;
    }
    meta.insert(SERVER_INFO_KEY.into(), server_info());
    true
}

/// One SSE event block (its lines, without the blank line that ends it) with
/// the message in its `data:` stamped.
pub fn stamp_event(block: &str) -> String {
    let data: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    let Ok(mut message) = serde_json::from_str::<Value>(&data.join("\n")) else {
        return block.to_owned();
    };
    if !stamp_message(&mut message) {
        return block.to_owned();
    }
    let mut out: Vec<String> = block
        .lines()
        .filter(|l| !l.starts_with("data:"))
        .map(str::to_owned)
        .collect();
    out.push(format!("data: {message}"));
    out.join("\n")
}

/// Axum middleware: stamp the results of 2026-07-28 POSTs.
pub async fn stamp_results(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let modern = crate::serve::speaks_2026(request.headers());
    let post = request.method() == axum::http::Method::POST;
    let response = next.run(request).await;
    if !(modern && post) {
        return response;
    }
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    if content_type.starts_with("application/json") {
        let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
            return axum::response::Response::from_parts(parts, Body::empty());
        };
        let mut message = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
        let body = if stamp_message(&mut message) {
            Body::from(message.to_string())
        } else {
            Body::from(bytes)
        };
        return axum::response::Response::from_parts(parts, body);
    }
    if !content_type.starts_with("text/event-stream") {
        return axum::response::Response::from_parts(parts, body);
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut upstream = body.into_data_stream();
        // Bytes, not text: a chunk may end inside a multi-byte character,
        // while an event block always ends whole.
        let mut pending: Vec<u8> = Vec::new();
        while let Some(Ok(chunk)) = upstream.next().await {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = pending.drain(..end + 2).collect();
                let stamped = match std::str::from_utf8(&block[..end]) {
                    Ok(text) => Bytes::from(format!("{}\n\n", stamp_event(text))),
                    Err(_) => Bytes::from(block), // not UTF-8: pass it on as it came
                };
                if tx.send(stamped).await.is_err() {
                    return; // the client went away: drop the server's stream
                }
            }
        }
        if !pending.is_empty() {
            let _ = tx.send(Bytes::from(pending)).await;
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    axum::response::Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_stamped_once_and_nothing_else_is() {
        let mut result = json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete"}});
        assert!(stamp_message(&mut result));
        assert_eq!(result["result"]["_meta"][SERVER_INFO_KEY], server_info());
        assert!(!stamp_message(&mut result));
        let mut note = json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {}});
        assert!(!stamp_message(&mut note));
        let mut error = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "x"}});
        assert!(!stamp_message(&mut error));
    }

    #[tokio::test]
    async fn an_event_split_inside_a_character_is_stamped_whole() {
        use axum::routing::post;
        let event =
            "id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"text\":\"Kraków\"}}\n\n";
        let bytes = event.as_bytes().to_vec();
        let split = event.find('ó').unwrap() + 1; // inside the two bytes of `ó`
        let app = axum::Router::new()
            .route(
                "/",
                post(move || {
                    let (a, b) = (bytes[..split].to_vec(), bytes[split..].to_vec());
                    async move {
                        let chunks = futures::stream::iter(
                            [a, b].map(|c| Ok::<_, Infallible>(Bytes::from(c))),
                        );
                        axum::response::Response::builder()
                            .header("content-type", "text/event-stream")
                            .body(Body::from_stream(chunks))
                            .unwrap()
                    }
                }),
            )
            .layer(axum::middleware::from_fn(stamp_results));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let text = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(&url)
            .header("mcp-protocol-version", "2026-07-28")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        server.abort();
        assert!(
            text.contains("Kraków") && text.contains(SERVER_INFO_KEY),
            "{text}"
        );
    }

    #[test]
    fn an_event_keeps_its_id_and_retry_and_gets_a_stamped_data_line() {
        let block = "id: 3-1\nretry: 500\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}";
        let stamped = stamp_event(block);
        assert!(
            stamped.starts_with("id: 3-1\nretry: 500\ndata: "),
            "{stamped}"
        );
        assert!(stamped.contains(SERVER_INFO_KEY));
        let priming = "id: 3-0\ndata: ";
        assert_eq!(stamp_event(priming), priming);
    }
}
