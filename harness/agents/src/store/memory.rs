//! In-memory [`Backend`]: the same contract as SQLite, gone when the process exits.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use super::{Backend, NewEvent, Retention, StoreError, StoredEvent, StoredEventId, StreamInfo};
use crate::runs::RunRecord;

#[derive(Default)]
struct Inner {
    next_stream: i64,
    next_seq: i64,
    stream_names: HashMap<String, i64>,
    streams: HashMap<i64, StreamInfo>,
    /// Events per stream, keyed by sequence number.
    events: HashMap<i64, BTreeMap<i64, (NewEvent, i64)>>,
    /// Every stored event in append order: (seq, stream, created_ms), for retention.
    order: VecDeque<(i64, i64, i64)>,
    sessions: HashMap<String, String>,
    runs: HashMap<String, RunRecord>,
}

/// Events, sessions and runs in process memory.
#[derive(Default)]
pub struct MemoryBackend {
    inner: Mutex<Inner>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave Inner half-updated in a way
        // that matters more than losing the whole store, so keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Backend for MemoryBackend {
    fn stream_key(&self, name: &str) -> Result<StreamInfo, StoreError> {
        let mut inner = self.lock();
        if let Some(&key) = inner.stream_names.get(name) {
            return Ok(inner.streams[&key].clone());
        }
        inner.next_stream += 1;
        let key = inner.next_stream;
        let info = StreamInfo {
            key,
            session: super::events::session_of_common_stream(name),
            closed: false,
        };
        inner.stream_names.insert(name.to_owned(), key);
        inner.streams.insert(key, info.clone());
        Ok(info)
    }

    fn stream_info(&self, key: i64) -> Result<Option<StreamInfo>, StoreError> {
        Ok(self.lock().streams.get(&key).cloned())
    }

    fn bind_session(&self, key: i64, session: &str) -> Result<(), StoreError> {
        if let Some(info) = self.lock().streams.get_mut(&key) {
            info.session.get_or_insert_with(|| session.to_owned());
        }
        Ok(())
    }

    fn append(&self, events: Vec<NewEvent>) -> Result<Vec<i64>, StoreError> {
        let mut inner = self.lock();
        let mut seqs = Vec::with_capacity(events.len());
        for event in events {
            inner.next_seq += 1;
            let seq = inner.next_seq;
            if event.closes_stream
                && let Some(info) = inner.streams.get_mut(&event.stream)
            {
                info.closed = true;
            }
            inner.order.push_back((seq, event.stream, event.created_ms));
            let stream = event.stream;
            let created = event.created_ms;
            inner
                .events
                .entry(stream)
                .or_default()
                .insert(seq, (event, created));
            seqs.push(seq);
        }
        Ok(seqs)
    }

    fn contains(&self, id: StoredEventId) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .events
            .get(&id.stream)
            .is_some_and(|events| events.contains_key(&id.seq)))
    }

    fn events_after(
        &self,
        stream: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let inner = self.lock();
        let Some(events) = inner.events.get(&stream) else {
            return Ok(Vec::new());
        };
        Ok(events
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(&seq, (event, _))| StoredEvent {
                id: StoredEventId { stream, seq },
                message: event.message.clone(),
                retry_ms: event.retry_ms,
            })
            .collect())
    }

    fn prune(&self, retention: Retention, now_ms: i64) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let oldest_allowed = now_ms - retention.max_age.as_millis() as i64;
        let mut dropped = 0;
        while let Some(&(seq, stream, created)) = inner.order.front() {
            let too_many = inner.order.len() as u64 > retention.max_events;
            if !too_many && created >= oldest_allowed {
                break;
            }
            inner.order.pop_front();
            if let Some(events) = inner.events.get_mut(&stream) {
                events.remove(&seq);
            }
            dropped += 1;
        }
        Ok(dropped)
    }

    fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.lock().order.len() as u64)
    }

    fn session_load(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().sessions.get(id).cloned())
    }

    fn session_save(&self, id: &str, state: &str) -> Result<(), StoreError> {
        self.lock().sessions.insert(id.to_owned(), state.to_owned());
        Ok(())
    }

    fn session_delete(&self, id: &str) -> Result<(), StoreError> {
        self.lock().sessions.remove(id);
        Ok(())
    }

    fn run_put(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.lock().runs.insert(run.id.clone(), run.clone());
        Ok(())
    }

    fn run_get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.lock().runs.get(id).cloned())
    }

    fn run_list(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let mut runs: Vec<_> = self.lock().runs.values().cloned().collect();
        runs.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
        runs.truncate(limit);
        Ok(runs)
    }
}
