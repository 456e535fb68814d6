//! Reading one HTTP response, JSON or an SSE stream, until the response to
//! a request: event ids and `retry:` remembered, server requests answered.

use super::*;

/// How reading a response ended.
pub(super) enum Read {
    /// The response to our request arrived.
    Answered(Value),
    /// The stream ended (or broke) without it; the last event id seen.
    Ended { last_event_id: Option<String> },
}

impl ScriptedClient {
    /// Read a response (JSON or SSE) until the response to `id`, answering server
    /// requests on the way.
    pub(super) async fn read(
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
}
