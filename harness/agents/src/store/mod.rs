//! Durable state of the reference agents: resumable SSE events, sessions and runs.
//!
//! One [`Backend`] trait with two implementations, [`MemoryBackend`] and
//! [`SqliteBackend`], and the adapters that plug a backend into rmcp:
//! [`ResumableEventStore`] (rmcp's `EventStore`) and [`DurableSessionStore`]
//! (rmcp's `SessionStore`). Run records live in the same backend so a run, its
//! events and its session survive a restart together.
//!
//! Event ids have the form `{stream}-{seq}`: `stream` is a key the backend assigns
//! to each SSE stream, `seq` is a store-wide, strictly increasing sequence number.
//! So ids are unique across every stream of every session, and each id names the
//! one stream it was sent on.

mod event_ids;
mod events;
mod memory;
mod sessions;
mod sqlite;

use std::time::Duration;

pub use event_ids::{EventIdError, StoredEventId};
pub use events::{ReplayError, ResumableEventStore};
pub use memory::MemoryBackend;
pub use sessions::DurableSessionStore;
pub use sqlite::SqliteBackend;

use crate::runs::RunRecord;

/// How much of the event log is kept. Older events are pruned; a resume from a
/// pruned event id is refused as unknown rather than silently skipping events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many events in the whole store.
    pub max_events: u64,
    /// Drop events older than this.
    pub max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_events: 1_000_000,
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// One SSE event to be appended to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Key of the stream, from [`Backend::stream_key`].
    pub stream: i64,
    /// The JSON-RPC message as JSON text; `None` for a priming or retry-only event.
    pub message: Option<String>,
    /// The SSE `retry:` hint in milliseconds.
    pub retry_ms: Option<u64>,
    /// True when this event carries the response that ends its stream.
    pub closes_stream: bool,
    /// Wall-clock time of the append, in milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// One SSE event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Where the event lives and its sequence number.
    pub id: StoredEventId,
    /// The JSON-RPC message as JSON text; `None` for a priming or retry-only event.
    pub message: Option<String>,
    /// The SSE `retry:` hint in milliseconds.
    pub retry_ms: Option<u64>,
}

/// What the backend knows about one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream's key, the first half of its event ids.
    pub key: i64,
    /// The session the stream belongs to, once known.
    pub session: Option<String>,
    /// True once the stream's final response was stored, or the process that
    /// wrote it is gone: a resumed client gets what is stored, then the end.
    pub closed: bool,
}

/// Errors of a store backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite database failed.
    #[error("sqlite store `{path}`: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The store's writer thread is gone (the process is shutting down).
    #[error("the store's writer has stopped")]
    WriterGone,
    /// A stored value did not decode.
    #[error("corrupt stored value in `{what}`: {detail}")]
    Corrupt {
        /// The table or field.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Storage for events, sessions and runs; implemented in memory and on SQLite.
///
/// Methods block (SQLite does file I/O); async callers use `spawn_blocking`.
/// Appends commit before they return, so an id handed to a client is durable.
pub trait Backend: Send + Sync + 'static {
    /// The key of the stream named `name`, creating it if new. Reopening a stream
    /// that was closed by a restart reopens it (the common GET stream of a
    /// restored session keeps its key).
    fn stream_key(&self, name: &str) -> Result<StreamInfo, StoreError>;
    /// Information about the stream with key `key`, if it exists.
    fn stream_info(&self, key: i64) -> Result<Option<StreamInfo>, StoreError>;
    /// Record that stream `key` belongs to `session` (first binding wins).
    fn bind_session(&self, key: i64, session: &str) -> Result<(), StoreError>;
    /// Append events in one transaction; returns their sequence numbers in order.
    fn append(&self, events: Vec<NewEvent>) -> Result<Vec<i64>, StoreError>;
    /// Whether the event `id` is still stored.
    fn contains(&self, id: StoredEventId) -> Result<bool, StoreError>;
    /// Up to `limit` events of stream `stream` with a sequence number above `after`,
    /// in order.
    fn events_after(
        &self,
        stream: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// Drop events beyond the retention policy; returns how many were dropped.
    fn prune(&self, retention: Retention, now_ms: i64) -> Result<u64, StoreError>;
    /// Number of events stored.
    fn event_count(&self) -> Result<u64, StoreError>;

    /// Load a session's saved `initialize` parameters (JSON), if any.
    fn session_load(&self, id: &str) -> Result<Option<String>, StoreError>;
    /// Save a session's `initialize` parameters (JSON).
    fn session_save(&self, id: &str, state: &str) -> Result<(), StoreError>;
    /// Forget a session.
    fn session_delete(&self, id: &str) -> Result<(), StoreError>;

    /// Insert or replace a run record.
    fn run_put(&self, run: &RunRecord) -> Result<(), StoreError>;
    /// Read a run record.
    fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// All run records, newest first, at most `limit`.
    fn run_list(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError>;
}

/// Milliseconds since the Unix epoch, for `created_ms` and pruning.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
