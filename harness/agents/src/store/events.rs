//! [`ResumableEventStore`]: rmcp's `EventStore` over a [`Backend`], with replay that
//! follows a still-running stream until its final response.
//!
//! Invariants: an id names exactly one stream; replay yields only events of that
//! stream with a larger sequence number, each once, in order; an unknown,
//! pruned or foreign id is an error and replays nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::ServerJsonRpcMessage;
use rmcp::transport::common::server_side_http::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::store::{
    EventId, EventStore, EventStoreError, EventStream,
};
use tokio::sync::{mpsc, watch};

use super::{Backend, NewEvent, Retention, StoreError, StoredEvent, StoredEventId, now_ms};

/// Events replayed per backend read.
const REPLAY_PAGE: usize = 256;
/// Appends between two retention passes.
const PRUNE_EVERY: u64 = 4096;
/// How often a follower re-checks a quiet stream for closure.
const FOLLOW_RECHECK: Duration = Duration::from_millis(500);
/// Stream names whose database keys are kept in memory, at most.
const MAX_CACHED_STREAM_KEYS: usize = 10_000;

/// rmcp names the standalone GET stream of session `S` as `S:common`.
pub(crate) fn session_of_common_stream(name: &str) -> Option<String> {
    name.strip_suffix(":common").map(str::to_owned)
}

/// Why a replay was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The id is not of this server's form.
    #[error(transparent)]
    Malformed(#[from] super::EventIdError),
    /// The id is well formed but no such event is stored.
    #[error("unknown event id `{0}`: not stored here (expired, or from another server)")]
    Unknown(String),
    /// The id belongs to a stream of another session (or of a session, when the
    /// resume carried none).
    #[error("event id `{0}` belongs to another session's stream; nothing replayed")]
    Foreign(String),
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Shared {
    backend: Arc<dyn Backend>,
    retention: Retention,
    /// Stream name -> key, so a stream costs one backend write, not one per event.
    keys: Mutex<HashMap<String, i64>>,
    /// Latest sequence number per stream that a follower is watching.
    followers: Mutex<HashMap<i64, watch::Sender<i64>>>,
    appends: AtomicU64,
}

/// The reference agents' event store: ids `{stream}-{seq}`, durable when the
/// backend is, replay scoped to one stream and one session.
#[derive(Clone)]
pub struct ResumableEventStore {
    shared: Arc<Shared>,
}

impl ResumableEventStore {
    /// An event store over `backend`, pruning by `retention`.
    pub fn new(backend: Arc<dyn Backend>, retention: Retention) -> Self {
        Self {
            shared: Arc::new(Shared {
                backend,
                retention,
                keys: Mutex::new(HashMap::new()),
                followers: Mutex::new(HashMap::new()),
                appends: AtomicU64::new(0),
            }),
        }
    }

    /// The backend underneath.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.shared.backend
    }

    async fn blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Backend) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let backend = self.shared.backend.clone();
        tokio::task::spawn_blocking(move || work(backend.as_ref()))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }

    async fn key_of(&self, stream_name: &str) -> Result<i64, StoreError> {
        if let Some(&key) = lock(&self.shared.keys).get(stream_name) {
            return Ok(key);
        }
        let name = stream_name.to_owned();
        let info = self.blocking(move |b| b.stream_key(&name)).await?;
        let mut keys = lock(&self.shared.keys);
        if keys.len() >= MAX_CACHED_STREAM_KEYS {
            // A cache, not a record: start over rather than grow without bound.
            keys.clear();
        }
        keys.insert(stream_name.to_owned(), info.key);
        Ok(info.key)
    }

    /// Append one event to the stream named `stream_name`; returns its id.
    pub async fn append(
        &self,
        stream_name: &str,
        message: Option<&ServerJsonRpcMessage>,
        retry: Option<Duration>,
    ) -> Result<StoredEventId, StoreError> {
        let stream = self.key_of(stream_name).await?;
        let closes_stream = matches!(
            message,
            Some(ServerJsonRpcMessage::Response(_) | ServerJsonRpcMessage::Error(_))
        );
        let message = match message {
            Some(m) => Some(serde_json::to_string(m).map_err(|e| StoreError::Corrupt {
                what: "events",
                detail: e.to_string(),
            })?),
            None => None,
        };
        let event = NewEvent {
            stream,
            message,
            retry_ms: retry.map(|d| d.as_millis() as u64),
            closes_stream,
            created_ms: now_ms(),
        };
        let seqs = self.blocking(move |b| b.append(vec![event])).await?;
        let seq = seqs.first().copied().ok_or(StoreError::WriterGone)?;
        if let Some(follower) = lock(&self.shared.followers).get(&stream) {
            follower.send_replace(seq);
        }
        if self.shared.appends.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            let retention = self.shared.retention;
            let store = self.clone();
            tokio::spawn(async move {
                if let Err(e) = store.blocking(move |b| b.prune(retention, now_ms())).await {
                    tracing::warn!(error = %e, "event store pruning failed");
                }
            });
        }
        Ok(StoredEventId { stream, seq })
    }

    /// Record that the stream of `id` belongs to `session`.
    pub async fn bind_to_session(
        &self,
        id: StoredEventId,
        session: &str,
    ) -> Result<(), StoreError> {
        let session = session.to_owned();
        self.blocking(move |b| b.bind_session(id.stream, &session))
            .await
    }

    /// Replay the events after `last_event_id`, checking that its stream belongs
    /// to `session` (`None`: the stream must belong to no session).
    pub async fn replay(
        &self,
        session: Option<&str>,
        last_event_id: &str,
    ) -> Result<EventStream, ReplayError> {
        let last: StoredEventId = last_event_id.parse()?;
        let found = self
            .blocking(move |b| Ok((b.contains(last)?, b.stream_info(last.stream)?)))
            .await?;
        let (true, Some(info)) = found else {
            return Err(ReplayError::Unknown(last.to_string()));
        };
        if info.session.as_deref() != session {
            return Err(ReplayError::Foreign(last.to_string()));
        }
        let (tx, rx) = mpsc::channel(REPLAY_PAGE);
        let store = self.clone();
        tokio::spawn(async move { store.follow(last, tx).await });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    /// Send every stored event of `from`'s stream after `from`, then keep sending
    /// new ones until the stream closes or the client goes away.
    async fn follow(&self, from: StoredEventId, tx: mpsc::Sender<ServerSseMessage>) {
        let stream = from.stream;
        let mut watcher = lock(&self.shared.followers)
            .entry(stream)
            .or_insert_with(|| watch::channel(from.seq).0)
            .subscribe();
        let mut cursor = from.seq;
        loop {
            let page = match self
                .blocking(move |b| b.events_after(stream, cursor, REPLAY_PAGE))
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "event replay stopped");
                    break;
                }
            };
            if let Some(last) = page.last() {
                cursor = last.id.seq;
                let mut client_gone = false;
                for event in page {
                    if tx.send(to_sse(event)).await.is_err() {
                        client_gone = true;
                        break;
                    }
                }
                if client_gone {
                    break;
                }
                continue;
            }
            let closed = self
                .blocking(move |b| b.stream_info(stream))
                .await
                .map(|info| info.is_none_or(|i| i.closed))
                .unwrap_or(true);
            if closed {
                // The closing event may have landed between the read and this check.
                let tail = self
                    .blocking(move |b| b.events_after(stream, cursor, usize::MAX >> 1))
                    .await
                    .unwrap_or_default();
                for event in tail {
                    if tx.send(to_sse(event)).await.is_err() {
                        break;
                    }
                }
                break;
            }
            tokio::select! {
                _ = watcher.changed() => {}
                _ = tokio::time::sleep(FOLLOW_RECHECK) => {}
                _ = tx.closed() => break,
            }
        }
        drop(watcher);
        let mut followers = lock(&self.shared.followers);
        if followers
            .get(&stream)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            followers.remove(&stream);
        }
    }
}

fn to_sse(event: StoredEvent) -> ServerSseMessage {
    let mut sse = ServerSseMessage::default();
    sse.event_id = Some(event.id.to_string());
    sse.retry = event.retry_ms.map(Duration::from_millis);
    sse.message = event
        .message
        .and_then(|json| serde_json::from_str::<ServerJsonRpcMessage>(&json).ok())
        .map(Arc::new);
    sse
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait::async_trait]
impl EventStore for ResumableEventStore {
    async fn store_event(
        &self,
        stream_id: &str,
        event: &ServerSseMessage,
    ) -> Result<EventId, EventStoreError> {
        let id = self
            .append(stream_id, event.message.as_deref(), event.retry)
            .await?;
        Ok(id.to_string())
    }

    /// The session-less path (2026-07-28 GET with `Last-Event-ID`): only streams
    /// that belong to no session can be replayed here.
    async fn replay_events_after(
        &self,
        last_event_id: &str,
    ) -> Result<EventStream, EventStoreError> {
        Ok(self.replay(None, last_event_id).await?)
    }
}
