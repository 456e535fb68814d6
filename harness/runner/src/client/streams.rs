//! Streams the client keeps open beside its calls: the standalone `GET`
//! stream (legacy) and `subscriptions/listen` (2026-07-28).

use super::*;

/// How many times in all the client resumes one GET stream (a server that
/// closes every resumed stream after a new event would otherwise be resumed
/// until the case ends).
const GET_STREAM_RESUMES: u32 = 20;

/// A standalone GET stream being read in the background: the latest event id
/// it delivered, for a `resume` step (clones share it; what a `resume` step's
/// own GET delivers is not counted).
#[derive(Debug, Clone, Default)]
pub struct GetStream {
    last_event_id: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl GetStream {
    /// The latest event id the stream (or its resumes) delivered.
    pub fn last_event_id(&self) -> Option<String> {
        lock(&self.last_event_id).clone()
    }
}

impl ScriptedClient {
    /// Open the session's standalone GET stream and read it in the background,
    /// answering the server's requests on it as a call's are (what arrives is
    /// in the proxy's transcript), and resuming it when it breaks (see
    /// [`Self::follow_get_stream`]); returns the status, and the stream's
    /// handle.
    pub async fn open_get_stream(&mut self) -> Result<(u16, GetStream), ClientError> {
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
        let stream = GetStream::default();
        if !response.status().is_success() {
            return Ok((status, stream));
        }
        // A client of the same session reads it: it answers the stream's
        // requests as a call's are, resumes the stream, and keeps its latest
        // event id where the handle sees it.
        let mut reader = self.fork();
        reader.last_event_id = stream.last_event_id.clone();
        let limit = self.limit;
        self.listeners.push(tokio::spawn(async move {
            let _ = tokio::time::timeout(limit, reader.follow_get_stream(response)).await;
        }));
        Ok((status, stream))
    }

    /// Read the standalone GET stream `response` to its end; then, as a
    /// client that keeps listening does, resume it with `Last-Event-ID` (the
    /// latest event id it carried) after the reconnect delay (100 ms at
    /// least), and read on. It stops when the stream carried no event id,
    /// when a resume is refused or fails, after `max_resumes` resumes in a row
    /// that brought nothing new, or after [`GET_STREAM_RESUMES`] in all; with
    /// `max_resumes = 0`, and in 2026-07-28 (no GET stream to resume), it
    /// never resumes. The stream is read as a call's is ([`Self::read`]:
    /// requests answered, `retry:` and event ids kept), for a response it
    /// never carries.
    async fn follow_get_stream(&self, mut response: reqwest::Response) {
        let mut fruitless = 0u32;
        let mut resumes = 0u32;
        loop {
            let before = lock(&self.last_event_id).clone();
            let _ = self.read(response, i64::MIN, &mut NoHooks, false).await;
            let Some(resume_from) = lock(&self.last_event_id).clone() else {
                return;
            };
            if Some(&resume_from) == before.as_ref() {
                fruitless += 1;
            } else {
                fruitless = 0;
            }
            if self.modern()
                || self.spec.max_resumes == 0
                || fruitless >= self.spec.max_resumes
                || resumes >= GET_STREAM_RESUMES
            {
                return;
            }
            resumes += 1;
            tokio::time::sleep(self.reconnect_delay().max(Duration::from_millis(100))).await;
            response = match self.resume(&resume_from).await {
                Ok(resumed) if resumed.status().is_success() => resumed,
                _ => return,
            };
        }
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
