//! Durability under SIGKILL, at many random points: the reference agents run on
//! an SQLite file, a few calls are in flight, the server is killed with SIGKILL
//! at a random moment and restarted on the same file, again and again. After
//! each kill: the file opens cleanly; every resumed stream replays exactly the
//! events the file holds after the client's Last-Event-ID; every run whose result
//! the client saw reads back completed with that result; no run is left
//! working; every run that did not finish reads back interrupted.
//!
//! Heavy, so ignored by default. Run it (100 kills; DURABILITY_KILLS to change):
//!   cargo test --release -p mcp-harness --test durability -- --ignored --nocapture

#[path = "support/server_process.rs"]
mod server_process;
#[path = "../../agents/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use mcp_harness_agents::store::{Backend, SqliteBackend, StoredEventId};
use serde_json::{Value, json};
use server_process::ServerProcess;
use support::{RawClient, message_of};

/// xorshift64*: a seeded sequence, so a failing kill point can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D) % below.max(1)
    }
}

/// What a client saw of one call before the kill.
struct Seen {
    ids: Vec<String>,
    run_uri: Option<String>,
}

/// Call `name`; with `read_only` set, stop reading (and drop the connection)
/// after that many events, as a client whose network died would.
async fn call(
    client: &RawClient,
    id: u64,
    name: &str,
    arguments: Value,
    read_only: Option<usize>,
) -> Seen {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": {"progressToken": format!("p{id}")}}});
    let Ok(response) = client.post(&body).send().await else {
        return Seen {
            ids: Vec::new(),
            run_uri: None,
        };
    };
    let mut count = 0;
    let read = RawClient::read_events(response, Duration::from_secs(20), |e| {
        count += 1;
        read_only.is_some_and(|n| count >= n)
            || message_of(e).is_some_and(|m| m["id"] == id && m.get("result").is_some())
    })
    .await;
    let run_uri = read
        .events
        .iter()
        .filter_map(message_of)
        .find(|m| m["id"] == id)
        .and_then(|m| {
            m["result"]["content"]
                .as_array()?
                .iter()
                .find(|c| c["type"] == "resource_link")?["uri"]
                .as_str()
                .map(str::to_owned)
        });
    Seen {
        ids: read.events.iter().filter_map(|e| e.id.clone()).collect(),
        run_uri,
    }
}

async fn rpc(client: &RawClient, id: u64, method: &str, params: Value) -> Option<Value> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let response = client.post(&body).send().await.ok()?;
    let read = RawClient::read_events(response, Duration::from_secs(20), |e| {
        message_of(e).is_some_and(|m| m["id"] == id)
    })
    .await;
    read.events
        .iter()
        .filter_map(message_of)
        .find(|m| m["id"] == id)
}

fn run_of(read: &Value) -> Value {
    serde_json::from_str(
        read["result"]["contents"][0]["text"]
            .as_str()
            .unwrap_or("null"),
    )
    .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: 100 SIGKILLs; run with --ignored (see the module doc)"]
async fn sigkill_at_random_points_loses_nothing_stored() {
    let kills: u64 = std::env::var("DURABILITY_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("agents.db");
    let mut random = Random(0x9E3779B97F4A7C15);
    let started = Instant::now();
    let mut restarts = Vec::new();
    let (mut completed_checked, mut interrupted_checked, mut streams_replayed, mut events_replayed) =
        (0u64, 0u64, 0u64, 0u64);
    let mut problems: Vec<String> = Vec::new();
    let mut interrupted = std::collections::BTreeSet::new();
    let mut server = ServerProcess::start(&store, "0.02");
    for kill in 0..kills {
        let mut client = RawClient::new(&server.url);
        client.initialize(json!({"elicitation": {}})).await;
        // Three calls in flight: two long-running of random length (the client
        // stops reading the second after 2 events), one travel call waiting for
        // an answer that never comes.
        let base = 10 + kill * 10;
        let steps = [2 + random.next(8), 2 + random.next(8)];
        let calls = futures::future::join3(
            call(
                &client,
                base,
                "long_running_agent",
                json!({"steps": steps[0]}),
                None,
            ),
            call(
                &client,
                base + 1,
                "long_running_agent",
                json!({"steps": steps[1]}),
                Some(2),
            ),
            call(
                &client,
                base + 2,
                "travel_agent",
                json!({"destination": "Oslo"}),
                None,
            ),
        );
        let delay = Duration::from_millis(random.next(400));
        let (seen, ()) = tokio::join!(
            async {
                let (a, b, c) = calls.await;
                vec![a, b, c]
            },
            async {
                tokio::time::sleep(delay).await;
                server.kill_9();
            }
        );
        // The file as the dead server left it: it opens, and holds these events.
        let expected: Vec<Option<Vec<String>>> = {
            let backend = match SqliteBackend::open(&store) {
                Ok(backend) => backend,
                Err(e) => panic!("kill {kill}: the store does not open after SIGKILL: {e}"),
            };
            seen.iter()
                .map(|s| {
                    let last: StoredEventId = s.ids.last()?.parse().ok()?;
                    let stored = backend.events_after(last.stream, last.seq, 100_000).ok()?;
                    Some(stored.iter().map(|e| e.id.to_string()).collect())
                })
                .collect()
        };
        let restart = Instant::now();
        server = ServerProcess::start(&store, "0.02");
        restarts.push(restart.elapsed());
        client.url = server.url.clone();
        for (s, stored) in seen.iter().zip(&expected) {
            let (Some(last), Some(stored)) = (s.ids.last(), stored) else {
                continue;
            };
            let replay =
                RawClient::read_events(client.resume(last).await, Duration::from_secs(20), |_| {
                    false
                })
                .await;
            let replayed: Vec<String> = replay.events.iter().filter_map(|e| e.id.clone()).collect();
            streams_replayed += 1;
            events_replayed += replayed.len() as u64;
            if &replayed != stored {
                problems.push(format!(
                    "kill {kill} (after {delay:?}): resume after {last} replayed {replayed:?}, the file holds {stored:?}"
                ));
            }
            if replayed.iter().any(|id| s.ids.contains(id)) {
                problems.push(format!(
                    "kill {kill}: resume after {last} replayed an event the client had"
                ));
            }
        }
        let mut next = 1_000_000 + kill * 100;
        for s in &seen {
            let Some(uri) = &s.run_uri else { continue };
            next += 1;
            let run = rpc(&client, next, "resources/read", json!({"uri": uri}))
                .await
                .map(|r| run_of(&r));
            match run {
                Some(run) if run["status"] == "completed" && run["result"].is_object() => {
                    completed_checked += 1
                }
                other => problems.push(format!(
                    "kill {kill}: completed run {uri} reads back {other:?}"
                )),
            }
        }
        next += 1;
        if let Some(listed) = rpc(&client, next, "resources/list", json!({})).await {
            for resource in listed["result"]["resources"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let uri = resource["uri"].as_str().unwrap_or_default().to_owned();
                if !uri.starts_with("harness://runs/") {
                    continue; // a static resource, not a run
                }
                if seen
                    .iter()
                    .any(|s| s.run_uri.as_deref() == Some(uri.as_str()))
                {
                    continue;
                }
                next += 1;
                let run = rpc(&client, next, "resources/read", json!({"uri": uri}))
                    .await
                    .map(|r| run_of(&r));
                let status = run
                    .as_ref()
                    .map(|r| r["status"].clone())
                    .unwrap_or(Value::Null);
                match status.as_str() {
                    Some("interrupted") => {
                        if interrupted.insert(uri) {
                            interrupted_checked += 1;
                        }
                    }
                    // Finished before the kill, but its response never reached the client.
                    Some("completed") | Some("failed") | Some("cancelled") => {}
                    _ => problems.push(format!(
                        "kill {kill}: unfinished run {uri} reads back {run:?}"
                    )),
                }
            }
        } else {
            problems.push(format!(
                "kill {kill}: resources/list failed after the restart"
            ));
        }
    }
    restarts.sort();
    eprintln!(
        "{kills} SIGKILLs in {:.1}s; restart p50 {:?}, max {:?}; {completed_checked} completed runs read back, \
         {interrupted_checked} runs read back interrupted, {streams_replayed} streams resumed, \
         {events_replayed} events replayed; {} problems",
        started.elapsed().as_secs_f64(),
        restarts[restarts.len() / 2],
        restarts.last().unwrap(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
