//! Event store benchmark, both backends side by side in one run:
//! append throughput (batched, and concurrent through the rmcp adapter's group
//! commit), replay latency of the last 100 events of one stream in a store of
//! 1,000,000 events (and of 10,000, to show it does not depend on size), and
//! bytes per stored event.
//!
//! cargo bench -p mcp-harness-agents --bench event_store [-- --events N]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_harness_agents::store::{
    Backend, MemoryBackend, NewEvent, ResumableEventStore, Retention, SqliteBackend, now_ms,
};

const BATCH: usize = 1000;

fn payload() -> String {
    r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok-1","progress":50.0,"total":100.0,"message":"Confirming prices..."}}"#.to_owned()
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

struct Filled {
    keys: Vec<i64>,
    append_rate: f64,
}

/// Streams for a store of `events` events: at least 200 events each, at most 1000 streams.
fn streams_for(events: usize) -> usize {
    (events / 200).clamp(1, 1000)
}

/// Append `events` events over `streams_for(events)` streams in batches of
/// `BATCH`, with `active` streams open at a time (a server with that many
/// concurrent requests): each group of `active` streams gets its share of events
/// round-robin before the next group starts.
fn fill(backend: &dyn Backend, events: usize, active: usize) -> Filled {
    let keys: Vec<i64> = (0..streams_for(events))
        .map(|i| backend.stream_key(&format!("stream-{i}")).unwrap().key)
        .collect();
    let message = payload();
    let started = Instant::now();
    let active = active.min(keys.len());
    let per_stream = events / keys.len();
    let stream_of = |i: usize| {
        let group_size = active * per_stream;
        let group = i / group_size;
        let in_group = i % group_size;
        let width = active.min(keys.len() - group * active);
        keys[(group * active + in_group % width).min(keys.len() - 1)]
    };
    let mut written = 0;
    while written < events {
        let n = BATCH.min(events - written);
        let batch = (0..n)
            .map(|i| NewEvent {
                stream: stream_of(written + i),
                message: Some(message.clone()),
                retry_ms: None,
                closes_stream: false,
                created_ms: now_ms(),
            })
            .collect();
        backend.append(batch).unwrap();
        written += n;
    }
    Filled {
        keys,
        append_rate: events as f64 / started.elapsed().as_secs_f64(),
    }
}

/// Replay latency (p50, p99) of the last 100 events of a random stream.
fn replay_latency(backend: &dyn Backend, keys: &[i64], samples: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(samples);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..samples {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let stream = keys[(seed % keys.len() as u64) as usize];
        // The newest event of the stream, then the 101st newest as the resume point.
        let all = backend.events_after(stream, 0, usize::MAX >> 1);
        let all = all.unwrap();
        let from = all[all.len().saturating_sub(101)].id.seq;
        let started = Instant::now();
        let replayed = backend.events_after(stream, from, 100).unwrap();
        times.push(started.elapsed());
        assert_eq!(replayed.len(), 100.min(all.len() - 1));
    }
    times.sort();
    (times[samples / 2], times[samples * 99 / 100])
}

fn concurrent_append_rate(backend: Arc<dyn Backend>, tasks: usize, per_task: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = ResumableEventStore::new(
            backend,
            Retention {
                max_events: u64::MAX,
                max_age: Duration::from_secs(86400),
            },
        );
        let message: rmcp::model::ServerJsonRpcMessage = serde_json::from_str(&payload()).unwrap();
        let started = Instant::now();
        let mut handles = Vec::new();
        for t in 0..tasks {
            let store = store.clone();
            let message = message.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    store
                        .append(&format!("live-{t}"), Some(&message), None)
                        .await
                        .unwrap();
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        (tasks * per_task) as f64 / started.elapsed().as_secs_f64()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("event_store: benchmark");
        return;
    }
    // `cargo bench` passes --bench; under `cargo test` this is a quick smoke run.
    let mut events = if args.iter().any(|a| a == "--bench") {
        1_000_000usize
    } else {
        20_000
    };
    if let Some(at) = args.iter().position(|a| a == "--events") {
        events = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(events);
    }
    let payload_bytes = payload().len();
    println!(
        "append: batches of {BATCH}, 16 streams active at a time; worst: every stream active at once ({} events); concurrent: 64 tasks appending one event at a time through the rmcp adapter (group commit)",
        events / 4
    );
    println!(
        "event store benchmark: {events} events of {payload_bytes} payload bytes over {} streams; small store: 10000 events over {} streams",
        streams_for(events),
        streams_for(10_000)
    );
    println!(
        "{:<8} {:>14} {:>14} {:>16} {:>14} {:>14} {:>14} {:>14} {:>12}",
        "backend",
        "append ev/s",
        "worst ev/s",
        "concurrent ev/s",
        "replay p50",
        "replay p99",
        "small p50",
        "small p99",
        "bytes/event"
    );

    for name in ["memory", "sqlite"] {
        let dir = tempfile::tempdir().unwrap();
        let open = |file: &str| -> Arc<dyn Backend> {
            match name {
                "memory" => Arc::new(MemoryBackend::new()),
                _ => SqliteBackend::open(dir.path().join(file)).unwrap(),
            }
        };
        // Small store first, to compare replay latency at 10,000 events.
        let small = open("small.db");
        let small_filled = fill(small.as_ref(), 10_000, 16);
        let (small_p50, small_p99) = replay_latency(small.as_ref(), &small_filled.keys, 1000);
        drop(small);

        let rss_before = rss_bytes();
        let big = open("big.db");
        let filled = fill(big.as_ref(), events, 16);
        let rss_after = rss_bytes();
        let (p50, p99) = replay_latency(big.as_ref(), &filled.keys, 1000);
        let bytes_per_event = match name {
            "memory" => (rss_after.saturating_sub(rss_before)) as f64 / events as f64,
            _ => {
                drop(big);
                // Reopen to checkpoint the WAL into the main file, then measure it.
                let conn = rusqlite_size(&dir.path().join("big.db"));
                conn as f64 / events as f64
            }
        };
        let concurrent = concurrent_append_rate(open("live.db"), 64, 2000);
        let worst = fill(open("worst.db").as_ref(), events / 4, usize::MAX >> 1).append_rate;
        println!(
            "{:<8} {:>14.0} {:>14.0} {:>16.0} {:>14?} {:>14?} {:>14?} {:>14?} {:>12.0}",
            name,
            filled.append_rate,
            worst,
            concurrent,
            p50,
            p99,
            small_p50,
            small_p99,
            bytes_per_event
        );
    }
}

fn rusqlite_size(path: &std::path::Path) -> u64 {
    {
        let backend = SqliteBackend::open(path).unwrap();
        drop(backend);
    }
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) + wal
}
