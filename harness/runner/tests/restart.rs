//! The reference agents as a real process on the SQLite store: killed with
//! SIGKILL mid-run and restarted on the same file, they still replay the cut
//! stream to a client resuming with Last-Event-ID, still know the session, read
//! back completed runs, and report the run in flight as interrupted.

#[path = "support/server_process.rs"]
mod server_process;
#[path = "../../agents/tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use server_process::ServerProcess;
use support::{RawClient, message_of};

async fn request(client: &RawClient, id: u64, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let response = client.post(&body).send().await.unwrap();
    let read = RawClient::read_events(response, Duration::from_secs(30), |e| {
        message_of(e).is_some_and(|m| m["id"] == id)
    })
    .await;
    read.events
        .iter()
        .filter_map(message_of)
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no answer to {method}"))
}

fn run_of(read: &Value) -> Value {
    serde_json::from_str(
        read["result"]["contents"][0]["text"]
            .as_str()
            .expect("run text"),
    )
    .unwrap()
}

#[tokio::test]
async fn sigkill_and_restart_on_the_same_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("agents.db");
    let mut server = ServerProcess::start(&store, "0");
    let mut client = RawClient::new(&server.url);
    client.initialize(json!({"elicitation": {}})).await;

    let finished = request(
        &client,
        1,
        "tools/call",
        json!({"name": "long_running_agent", "arguments": {"steps": 2}}),
    )
    .await;
    let finished_uri = finished["result"]["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "resource_link")
        .unwrap()["uri"]
        .as_str()
        .unwrap()
        .to_owned();

    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "travel_agent", "arguments": {}, "_meta": {"progressToken": "trip"}}});
    let response = client.post(&call).send().await.unwrap();
    let before = RawClient::read_events(response, Duration::from_secs(30), |e| {
        message_of(e).is_some_and(|m| m["method"] == "elicitation/create")
    })
    .await;
    let ids: Vec<String> = before
        .events
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert!(
        ids.len() >= 5,
        "priming, three progress events and the question: {ids:?}"
    );

    server.kill_9();
    let started = Instant::now();
    let server = ServerProcess::start(&store, "0");
    let restart_time = started.elapsed();
    client.url = server.url.clone();

    let replay = RawClient::read_events(
        client.resume(&ids[1]).await,
        Duration::from_secs(30),
        |_| false,
    )
    .await;
    assert!(
        replay.ended,
        "a stream whose writer died ends after its stored events"
    );
    let replayed: Vec<String> = replay
        .events
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(
        replayed,
        ids[2..],
        "exactly the stored events after Last-Event-ID"
    );
    assert_eq!(
        message_of(replay.events.last().unwrap()).unwrap()["method"],
        "elicitation/create"
    );

    let done = request(&client, 3, "resources/read", json!({"uri": finished_uri})).await;
    let done = run_of(&done);
    assert_eq!(done["status"], "completed");
    assert!(
        done["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Completed 2 steps")
    );

    let listed = request(&client, 4, "resources/list", json!({})).await;
    let travel_uri = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap().to_owned())
        .find(|uri| uri != &finished_uri && uri.starts_with("harness://runs/"))
        .expect("the travel run is listed");
    let interrupted =
        run_of(&request(&client, 5, "resources/read", json!({"uri": travel_uri})).await);
    assert_eq!(interrupted["status"], "interrupted", "{interrupted}");
    assert_eq!(
        interrupted["steps"].as_array().unwrap().len(),
        3,
        "partial results kept"
    );
    eprintln!("restart took {restart_time:?}");
}
