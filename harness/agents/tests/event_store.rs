//! Contract tests of the event store, run against both backends.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mcp_harness_agents::store::{
    Backend, MemoryBackend, ResumableEventStore, Retention, SqliteBackend, StoredEventId,
};
use rmcp::model::{JsonRpcNotification, ServerJsonRpcMessage};

fn backends() -> Vec<(&'static str, Arc<dyn Backend>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteBackend::open(dir.path().join("store.db")).unwrap();
    vec![
        (
            "memory",
            Arc::new(MemoryBackend::new()),
            tempfile::tempdir().unwrap(),
        ),
        ("sqlite", sqlite, dir),
    ]
}

fn note(n: u32) -> ServerJsonRpcMessage {
    serde_json::from_value(serde_json::json!({
        "jsonrpc": "2.0",
        "method": "notifications/message",
        "params": {"level": "info", "data": n}
    }))
    .unwrap()
}

fn response(id: u32) -> ServerJsonRpcMessage {
    serde_json::from_value(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {}})).unwrap()
}

fn data_of(message: &ServerJsonRpcMessage) -> serde_json::Value {
    match message {
        ServerJsonRpcMessage::Notification(JsonRpcNotification { notification, .. }) => {
            serde_json::to_value(notification).unwrap()["params"]["data"].clone()
        }
        ServerJsonRpcMessage::Response(r) => serde_json::json!({"response": r.id.to_string()}),
        other => panic!("unexpected {other:?}"),
    }
}

async fn collect(
    stream: rmcp::transport::streamable_http_server::session::store::EventStream,
) -> Vec<(String, serde_json::Value)> {
    tokio::time::timeout(Duration::from_secs(10), stream.collect::<Vec<_>>())
        .await
        .expect("replay must end when its stream is closed")
        .into_iter()
        .map(|e| {
            (
                e.event_id.unwrap(),
                e.message.as_deref().map(data_of).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn ids_are_unique_and_name_their_stream() {
    for (name, backend, _dir) in backends() {
        let store = ResumableEventStore::new(backend, Retention::default());
        let mut seen = std::collections::HashSet::new();
        let mut streams = std::collections::HashMap::new();
        for i in 0..30u32 {
            let stream = format!("stream-{}", i % 3);
            let id = store.append(&stream, Some(&note(i)), None).await.unwrap();
            assert!(seen.insert(id), "{name}: id {id} reused");
            let key = *streams.entry(stream).or_insert(id.stream);
            assert_eq!(key, id.stream, "{name}: id {id} does not name its stream");
        }
        assert_eq!(
            streams
                .values()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            3
        );
    }
}

#[tokio::test]
async fn replay_is_strictly_after_and_only_from_that_stream() {
    for (name, backend, _dir) in backends() {
        let store = ResumableEventStore::new(backend, Retention::default());
        let mut ids = Vec::new();
        for i in 0..10u32 {
            ids.push(store.append("a", Some(&note(i)), None).await.unwrap());
            store.append("b", Some(&note(100 + i)), None).await.unwrap();
        }
        store.append("a", Some(&response(1)), None).await.unwrap();
        let got = collect(store.replay(None, &ids[6].to_string()).await.unwrap()).await;
        let data: Vec<_> = got.iter().map(|(_, d)| d.clone()).collect();
        assert_eq!(
            data,
            vec![
                serde_json::json!(7),
                serde_json::json!(8),
                serde_json::json!(9),
                serde_json::json!({"response": "1"})
            ],
            "{name}"
        );
        assert_eq!(
            got[0].0,
            ids[7].to_string(),
            "{name}: replay keeps original ids"
        );
    }
}

#[tokio::test]
async fn unknown_malformed_and_foreign_ids_replay_nothing() {
    for (name, backend, _dir) in backends() {
        let store = ResumableEventStore::new(backend, Retention::default());
        let first = store.append("s1", Some(&note(1)), None).await.unwrap();
        store.bind_to_session(first, "session-one").await.unwrap();
        let err = |r: Result<_, _>| {
            r.err()
                .map(|e: mcp_harness_agents::store::ReplayError| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            err(store.replay(None, "nonsense").await).contains("malformed event id `nonsense`"),
            "{name}"
        );
        let unknown = StoredEventId {
            stream: first.stream,
            seq: first.seq + 1000,
        };
        assert!(
            err(store
                .replay(Some("session-one"), &unknown.to_string())
                .await)
            .contains("unknown event id"),
            "{name}"
        );
        assert!(
            err(store.replay(Some("session-two"), &first.to_string()).await)
                .contains("another session"),
            "{name}"
        );
        assert!(
            err(store.replay(None, &first.to_string()).await).contains("another session"),
            "{name}"
        );
        assert!(
            store
                .replay(Some("session-one"), &first.to_string())
                .await
                .is_ok(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn replay_follows_a_running_stream_until_its_response() {
    for (name, backend, _dir) in backends() {
        let store = ResumableEventStore::new(backend, Retention::default());
        let first = store.append("live", Some(&note(0)), None).await.unwrap();
        let replay = store.replay(None, &first.to_string()).await.unwrap();
        let writer = store.clone();
        let produce = tokio::spawn(async move {
            for i in 1..=3u32 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                writer.append("live", Some(&note(i)), None).await.unwrap();
            }
            writer
                .append("live", Some(&response(9)), None)
                .await
                .unwrap();
        });
        let got = collect(replay).await;
        produce.await.unwrap();
        assert_eq!(got.len(), 4, "{name}: {got:?}");
        assert_eq!(got[3].1, serde_json::json!({"response": "9"}), "{name}");
    }
}

#[tokio::test]
async fn retention_bounds_count_and_age() {
    for (name, backend, _dir) in backends() {
        let store = ResumableEventStore::new(backend.clone(), Retention::default());
        let mut ids = Vec::new();
        for i in 0..50u32 {
            ids.push(store.append("r", Some(&note(i)), None).await.unwrap());
        }
        let now = mcp_harness_agents::store::now_ms();
        let by_count = Retention {
            max_events: 20,
            max_age: Duration::from_secs(3600),
        };
        assert_eq!(backend.prune(by_count, now).unwrap(), 30, "{name}");
        assert_eq!(backend.event_count().unwrap(), 20, "{name}");
        assert!(
            store.replay(None, &ids[5].to_string()).await.is_err(),
            "{name}: pruned id must be unknown"
        );
        assert!(
            store.replay(None, &ids[45].to_string()).await.is_ok(),
            "{name}"
        );
        let by_age = Retention {
            max_events: 1000,
            max_age: Duration::from_secs(60),
        };
        assert_eq!(backend.prune(by_age, now + 61_000).unwrap(), 20, "{name}");
        assert_eq!(backend.event_count().unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn sqlite_keeps_events_and_closes_streams_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (first, unfinished) = {
        let store =
            ResumableEventStore::new(SqliteBackend::open(&path).unwrap(), Retention::default());
        let first = store.append("run", Some(&note(1)), None).await.unwrap();
        store.append("run", Some(&note(2)), None).await.unwrap();
        store.bind_to_session(first, "s").await.unwrap();
        (first, store)
    };
    drop(unfinished);
    let store = ResumableEventStore::new(SqliteBackend::open(&path).unwrap(), Retention::default());
    // The stream never got its response, but its writer is gone: replay ends.
    let got = collect(store.replay(Some("s"), &first.to_string()).await.unwrap()).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, serde_json::json!(2));
    let next = store.append("other", Some(&note(3)), None).await.unwrap();
    assert!(
        next.seq > first.seq + 1,
        "sequence numbers are never reused"
    );
}
