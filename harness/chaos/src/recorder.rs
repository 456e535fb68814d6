//! [`Recorder`]: the single writer of a transcript. Every record gets the next
//! sequence number and a monotonic timestamp under one lock, so the order in
//! the transcript is the order the proxy saw things happen.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mcp_harness_wire::{
    Fault, FaultMark, Record, TRANSCRIPT_FORMAT, TRANSCRIPT_VERSION, Transcript, WireEvent,
};

/// Limits that keep a long or hostile run from growing memory without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    /// Records kept in memory; later ones go only to the file (and are counted).
    pub max_records: usize,
    /// Bytes of recorded bodies and event data kept in memory, about; later
    /// records go only to the file (and are counted).
    pub max_bytes: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        Self {
            max_records: 2_000_000,
            max_bytes: 1 << 30,
        }
    }
}

/// About how much memory a record takes: its body or data, plus a fixed part.
fn approximate_size(event: &WireEvent) -> usize {
    use mcp_harness_wire::Body;
    let body = match event {
        WireEvent::Request { body, .. } | WireEvent::Response { body, .. } => Some(body),
        WireEvent::Sse { data, .. } => data.as_ref(),
        _ => None,
    };
    let payload = match body {
        Some(Body::Json { value }) => value.0.len(),
        Some(Body::Text { text }) => text.len(),
        _ => 0,
    };
    payload + 200
}

/// Records per storage chunk.
const CHUNK_RECORDS: usize = 4096;

struct State {
    next_seq: u64,
    next_fault_id: u32,
    records: Vec<Vec<Record>>,
    kept: usize,
    kept_bytes: usize,
    sink: Option<BufWriter<File>>,
    sink_error: Option<String>,
    dropped: u64,
}

/// How often a recorder writing a file flushes it.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Numbers, timestamps and keeps transcript records; optionally writes them to
/// a JSON Lines file as they happen.
pub struct Recorder {
    started: Instant,
    limits: RecordLimits,
    state: Mutex<State>,
}

/// A recorder could not open its file.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the transcript to `{path}`: {source}")]
pub struct RecordFileError {
    path: String,
    #[source]
    source: std::io::Error,
}

impl Recorder {
    /// A recorder for traffic to `target`, in memory only.
    pub fn new(target: &str) -> Arc<Self> {
        Self::with_limits(target, RecordLimits::default())
    }

    /// A recorder with explicit limits.
    pub fn with_limits(target: &str, limits: RecordLimits) -> Arc<Self> {
        let recorder = Arc::new(Self {
            started: Instant::now(),
            limits,
            state: Mutex::new(State {
                next_seq: 0,
                next_fault_id: 0,
                records: Vec::new(),
                kept: 0,
                kept_bytes: 0,
                sink: None,
                sink_error: None,
                dropped: 0,
            }),
        });
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        recorder.record(WireEvent::Header {
            format: TRANSCRIPT_FORMAT.into(),
            version: TRANSCRIPT_VERSION,
            started_unix_ms,
            target: target.to_owned(),
        });
        recorder
    }

    /// Also write every record (those so far, then each new one) to `path`.
    /// Writes are buffered and flushed every [`FLUSH_EVERY`] by a background
    /// thread (and by [`Self::flush`]), so a recorder killed with SIGKILL
    /// loses at most that much of its file.
    pub fn write_to(self: &Arc<Self>, path: &Path) -> Result<(), RecordFileError> {
        let file = File::create(path).map_err(|source| RecordFileError {
            path: path.display().to_string(),
            source,
        })?;
        let mut sink = BufWriter::new(file);
        let mut state = self.lock();
        for record in state.records.iter().flatten() {
            let _ = serde_json::to_writer(&mut sink, record);
            let _ = sink.write_all(b"\n");
        }
        let _ = sink.flush();
        state.sink = Some(sink);
        drop(state);
        let recorder = Arc::downgrade(self);
        let _ = std::thread::Builder::new()
            .name("transcript-flush".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    match recorder.upgrade() {
                        Some(recorder) => recorder.flush(),
                        None => break,
                    }
                }
            });
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append `event`; returns its sequence number.
    pub fn record(&self, event: WireEvent) -> u64 {
        let at_us = self.started.elapsed().as_micros() as u64;
        let mut state = self.lock();
        self.append(&mut state, at_us, event)
    }

    /// Append `events` in order, under one lock (one timestamp for all).
    pub fn record_all(&self, events: Vec<WireEvent>) {
        if events.is_empty() {
            return;
        }
        let at_us = self.started.elapsed().as_micros() as u64;
        let mut state = self.lock();
        for event in events {
            self.append(&mut state, at_us, event);
        }
    }

    fn append(&self, state: &mut State, at_us: u64, event: WireEvent) -> u64 {
        let seq = state.next_seq;
        state.next_seq += 1;
        let record = Record { seq, at_us, event };
        if let Some(sink) = state.sink.as_mut() {
            let written = serde_json::to_writer(&mut *sink, &record)
                .map_err(|e| e.to_string())
                .and_then(|()| sink.write_all(b"\n").map_err(|e| e.to_string()));
            if let Err(e) = written {
                state.sink_error.get_or_insert(e);
            }
        }
        let size = approximate_size(&record.event);
        let room = state.kept < self.limits.max_records
            && state.kept_bytes.saturating_add(size) <= self.limits.max_bytes;
        if room {
            state.kept_bytes += size;
            // Fixed-size chunks: no doubling reallocation, no slack beyond one chunk.
            if state
                .records
                .last()
                .is_none_or(|chunk| chunk.len() == CHUNK_RECORDS)
            {
                state.records.push(Vec::with_capacity(CHUNK_RECORDS));
            }
            if let Some(chunk) = state.records.last_mut() {
                chunk.push(record);
            }
            state.kept += 1;
        } else {
            state.dropped += 1;
        }
        seq
    }

    /// Whether the in-memory transcript is complete (nothing dropped by the limits).
    pub fn is_complete(&self) -> bool {
        self.lock().dropped == 0
    }

    /// Record a remark from the harness.
    pub fn note(&self, text: impl Into<String>) -> u64 {
        self.record(WireEvent::Note { text: text.into() })
    }

    /// Record a phase of an injected fault: `mark` says which phase, of which
    /// declared fault (its id), on which exchange.
    pub fn fault(&self, mark: FaultMark, fault: &Fault, detail: impl Into<String>) -> u64 {
        self.record(WireEvent::Fault {
            exchange: mark.exchange,
            phase: mark.phase,
            id: mark.id,
            fault: fault.clone(),
            detail: detail.into(),
        })
    }

    /// A new id for a declared fault: the records of its phases share it.
    pub fn next_fault_id(&self) -> u32 {
        let mut state = self.lock();
        state.next_fault_id += 1;
        state.next_fault_id
    }

    /// A copy of what is recorded so far.
    pub fn transcript(&self) -> Transcript {
        Transcript {
            records: self.lock().records.iter().flatten().cloned().collect(),
        }
    }

    /// Number of records kept in memory.
    pub fn len(&self) -> usize {
        self.lock().kept
    }

    /// Whether nothing but the header was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// Records not kept in memory because of the [`RecordLimits`].
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Push buffered records to the file.
    pub fn flush(&self) {
        if let Some(sink) = self.lock().sink.as_mut() {
            let _ = sink.flush();
        }
    }

    /// The first error writing the file, if any.
    pub fn file_error(&self) -> Option<String> {
        self.lock().sink_error.clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_harness_wire::{Body, Delivery};

    fn event(data: &str) -> WireEvent {
        WireEvent::Sse {
            exchange: 1,
            index: 1,
            id: None,
            event: None,
            retry_ms: None,
            data: Some(Body::from_bytes(data.as_bytes(), 1 << 20)),
            delivery: Delivery::Delivered,
        }
    }

    #[test]
    fn records_past_the_count_limit_are_counted_not_kept() {
        let recorder = Recorder::with_limits(
            "t",
            RecordLimits {
                max_records: 10,
                max_bytes: usize::MAX,
            },
        );
        for _ in 0..20 {
            recorder.record(event("{}"));
        }
        // The header is the first of the ten.
        assert_eq!(recorder.len(), 10);
        assert_eq!(recorder.dropped(), 11);
        assert!(!recorder.is_complete());
        assert_eq!(recorder.transcript().records.len(), 10);
    }

    #[test]
    fn records_past_the_byte_limit_are_counted_not_kept() {
        let recorder = Recorder::with_limits(
            "t",
            RecordLimits {
                max_records: usize::MAX,
                max_bytes: 50_000,
            },
        );
        assert!(recorder.is_complete());
        let big = format!("\"{}\"", "x".repeat(10_000));
        for _ in 0..10 {
            recorder.record(event(&big));
        }
        // About 10 KB each: four fit after the header, the rest are dropped.
        assert_eq!(recorder.len(), 5);
        assert_eq!(recorder.dropped(), 6);
        assert!(!recorder.is_complete());
    }
}
