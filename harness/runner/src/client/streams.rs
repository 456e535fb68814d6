//! Streams the client keeps open beside its calls: the standalone `GET`
//! stream (legacy) and `subscriptions/listen` (2026-07-28).

use super::*;

impl ScriptedClient {
    /// Open the session's standalone GET stream and read it in the background,
    /// answering the server's requests on it as a call's are (what arrives is
    /// in the proxy's transcript); returns the status.
    pub async fn open_get_stream(&mut self) -> Result<u16, ClientError> {
        let mut request = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("MCP-Protocol-Version", &self.version);
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        let response = request.send().await.map_err(http_error("GET stream"))?;
        let status = response.status().as_u16();
        // Its requests are answered as a call's are, by a client of the
        // same session.
        let responder = self.fork();
        let limit = self.limit;
        self.listeners.push(tokio::spawn(async move {
            let mut response = response;
            let mut decoder = SseDecoder::default();
            let _ = tokio::time::timeout(limit, async {
                while let Ok(Some(chunk)) = response.chunk().await {
                    let mut events = Vec::new();
                    if decoder.feed(&chunk, &mut events).is_err() {
                        return;
                    }
                    for event in events {
                        if let Ok(message) = serde_json::from_str::<Value>(&event.data)
                            && message.get("method").is_some()
                            && message.get("id").is_some()
                        {
                            responder.answer_server_request(&message).await;
                        }
                    }
                }
            })
            .await;
        }));
        Ok(status)
    }

    /// 2026-07-28: POST `subscriptions/listen` with the filter
    /// `notifications`; wait (2 s at most) for the acknowledgement, then keep
    /// reading the stream in the background until this client is dropped or
    /// its limit passes, counting the notifications after the acknowledgement
    /// (see [`Self::await_notifications`]). Returns the status and whether
    /// the acknowledgement came.
    pub async fn listen(&mut self, notifications: &Value) -> Result<(u16, bool), ClientError> {
        let id = self.take_id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
            "params": {"notifications": notifications, "_meta": self.meta()}});
        let mut response = tokio::time::timeout(self.limit, self.post(&body).send())
            .await
            .map_err(|_| {
                ClientError::TimedOut(format!(
                    "no answer to subscriptions/listen within {:?}",
                    self.limit
                ))
            })?
            .map_err(http_error("subscriptions/listen"))?;
        let status = response.status().as_u16();
        let (acked_tx, acked_rx) = tokio::sync::oneshot::channel::<()>();
        let counter = self.listened.clone();
        let limit = self.limit;
        self.listeners.push(tokio::spawn(async move {
            let mut acked_tx = Some(acked_tx);
            let mut decoder = SseDecoder::new(16 << 20);
            let _ = tokio::time::timeout(limit, async {
                while let Ok(Some(chunk)) = response.chunk().await {
                    let mut events = Vec::new();
                    if decoder.feed(&chunk, &mut events).is_err() {
                        return;
                    }
                    for event in events {
                        let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                            continue;
                        };
                        match message.get("method").and_then(Value::as_str) {
                            Some("notifications/subscriptions/acknowledged") => {
                                if let Some(tx) = acked_tx.take() {
                                    let _ = tx.send(());
                                }
                            }
                            Some(_) => {
                                counter.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                counter.1.notify_waiters();
                            }
                            None => {}
                        }
                    }
                }
            })
            .await;
        }));
        let acknowledged = tokio::time::timeout(Duration::from_secs(2), acked_rx)
            .await
            .is_ok_and(|r| r.is_ok());
        Ok((status, acknowledged))
    }

    /// Wait until the listen streams of this client have carried `count`
    /// notifications after their acknowledgement, `within` at most; whether
    /// they did.
    pub async fn await_notifications(&self, count: u64, within: Duration) -> bool {
        let (seen, changed) = &*self.listened;
        tokio::time::timeout(within, async {
            loop {
                let notified = changed.notified();
                if seen.load(std::sync::atomic::Ordering::SeqCst) >= count {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }
}
