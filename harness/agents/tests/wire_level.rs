//! The agents seen from the wire: resumable streams with Last-Event-ID, progress
//! tokens, and the HTTP security rules (Origin, Host, body size, sessions).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn is_elicitation(event: &mcp_harness_wire::SseEvent) -> bool {
    message_of(event).is_some_and(|m| m["method"] == "elicitation/create")
}

fn call_travel(token: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "travel_agent", "arguments": {"destination": "Lima"}, "_meta": {"progressToken": token}}})
}

#[tokio::test]
async fn a_cut_stream_resumes_with_every_missing_event_exactly_once() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut client = RawClient::new(&agents.url());
    client.initialize(json!({"elicitation": {}})).await;

    let response = client
        .post(&call_travel(json!("tok-1")))
        .send()
        .await
        .unwrap();
    let first = RawClient::read_events(response, TEST_LIMIT, is_elicitation).await;
    assert_eq!(first.status, 200);
    let priming = &first.events[0];
    assert!(
        priming.id.is_some() && priming.data.is_empty() && priming.retry_ms.is_some(),
        "priming event: {priming:?}"
    );
    let question = message_of(first.events.last().unwrap()).expect("elicitation request");
    // The connection is now cut (the response was dropped) before the answer.

    let answer = json!({"jsonrpc": "2.0", "id": question["id"], "result": {"action": "accept", "content": {"confirm": true}}});
    let accepted = client.post(&answer).send().await.unwrap();
    assert_eq!(accepted.status(), 202);

    // Resume from the second event: everything after it, then the rest of the run.
    let resume_from = first.events[1].id.clone().unwrap();
    let resumed = RawClient::read_events(client.resume(&resume_from).await, TEST_LIMIT, |e| {
        message_of(e).is_some_and(|m| m.get("result").is_some() && m["id"] == 5)
    })
    .await;
    let seen_before: Vec<_> = first.events.iter().map(|e| e.id.clone().unwrap()).collect();
    let replayed: Vec<_> = resumed
        .events
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(
        replayed[..seen_before.len() - 2],
        seen_before[2..],
        "the missed events come first, in order"
    );
    let mut unique = replayed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), replayed.len(), "no event twice: {replayed:?}");
    let messages: Vec<Value> = resumed.events.iter().filter_map(message_of).collect();
    let responses = messages
        .iter()
        .filter(|m| m["id"] == 5 && m.get("result").is_some())
        .count();
    assert_eq!(responses, 1, "the final response exactly once");
    // What the client holds: the events up to its Last-Event-ID, then the replay.
    let progress: Vec<(Value, f64)> = first.events[..2]
        .iter()
        .chain(&resumed.events)
        .filter_map(message_of)
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            (
                m["params"]["progressToken"].clone(),
                m["params"]["progress"].as_f64().unwrap(),
            )
        })
        .collect();
    let values: Vec<f64> = progress.iter().map(|(_, v)| *v).collect();
    assert_eq!(
        values,
        [0.0, 25.0, 50.0, 75.0, 100.0],
        "replay adds no progress twice"
    );
    assert!(
        progress.iter().all(|(t, _)| t == "tok-1"),
        "the client's own string token: {progress:?}"
    );
    let text = messages.last().unwrap()["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("Trip to Lima booked"), "{text}");

    // Another session cannot replay this stream; neither can a made-up id.
    let mut intruder = RawClient::new(&agents.url());
    intruder.initialize(json!({})).await;
    for id in [resume_from.as_str(), "999-999", "not-an-id"] {
        let stolen =
            RawClient::read_events(intruder.resume(id).await, Duration::from_secs(5), |_| false)
                .await;
        assert!(
            stolen.events.is_empty() && stolen.ended,
            "{id} replayed {:?}",
            stolen.events
        );
    }
    agents.shutdown().await;
}

#[tokio::test]
async fn progress_only_with_a_token_and_in_its_type() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut client = RawClient::new(&agents.url());
    client.initialize(json!({})).await;
    let is_response =
        |e: &mcp_harness_wire::SseEvent| message_of(e).is_some_and(|m| m.get("result").is_some());
    let without = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "long_running_agent", "arguments": {"steps": 3}}});
    let read = RawClient::read_events(
        client.post(&without).send().await.unwrap(),
        TEST_LIMIT,
        is_response,
    )
    .await;
    assert!(
        !read
            .events
            .iter()
            .filter_map(message_of)
            .any(|m| m["method"] == "notifications/progress"),
        "no token, no progress"
    );

    let with = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "long_running_agent", "arguments": {"steps": 3}, "_meta": {"progressToken": 7}}});
    let read = RawClient::read_events(
        client.post(&with).send().await.unwrap(),
        TEST_LIMIT,
        is_response,
    )
    .await;
    let progress: Vec<Value> = read
        .events
        .iter()
        .filter_map(message_of)
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3);
    assert!(
        progress
            .iter()
            .all(|m| m["params"]["progressToken"] == json!(7)),
        "integer token kept: {progress:?}"
    );
    let last = read
        .events
        .iter()
        .filter_map(message_of)
        .next_back()
        .unwrap();
    assert_eq!(last["id"], 2, "nothing after the response");
    agents.shutdown().await;
}

#[tokio::test]
async fn origin_host_body_size_and_session_rules() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut client = RawClient::new(&agents.url());
    client.initialize(json!({})).await;
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});

    let foreign = client
        .post(&list)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "foreign Origin");
    let local = client
        .post(&list)
        .header(
            "Origin",
            &format!("http://localhost:{}", agents.addr().port()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200, "loopback Origin");
    let host = client
        .post(&list)
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(host.status(), 403, "foreign Host");

    let huge = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "travel_agent", "arguments": {"destination": "x".repeat(5 * 1024 * 1024)}}});
    let too_big = client.post(&huge).send().await.unwrap();
    assert_eq!(too_big.status(), 413, "body over the limit");

    let mut anonymous = RawClient::new(&agents.url());
    let missing = anonymous.post(&list).send().await.unwrap();
    assert_eq!(missing.status(), 400, "no session id");
    anonymous.session = Some("00000000-0000-0000-0000-000000000000".into());
    let unknown = anonymous.post(&list).send().await.unwrap();
    assert_eq!(unknown.status(), 404, "unknown session id");

    let session = client.session.clone().unwrap();
    assert_eq!(session.len(), 36, "a UUID v4 from the OS CSPRNG: {session}");
    assert!(
        session.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "visible ASCII"
    );
    agents.shutdown().await;
}

#[tokio::test]
async fn a_stream_the_client_never_read_is_not_open_to_a_session_less_resume() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut client = RawClient::new(&agents.url());
    client.initialize(json!({"elicitation": {}})).await;
    // Learn the shape of event ids from one call.
    let seen = client
        .post(&call_travel(json!("seen")))
        .send()
        .await
        .unwrap();
    let seen = RawClient::read_events(seen, TEST_LIMIT, is_elicitation).await;
    let priming = seen.events[0].id.clone().unwrap();
    let (stream, _) = priming.split_once('-').expect("{stream}-{seq}");
    let stream: u64 = stream.parse().unwrap();
    // A second call whose response is dropped before a byte of its body is read.
    drop(
        client
            .post(&call_travel(json!("unread")))
            .send()
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Guess the unread stream's ids without a session: nothing is replayed.
    let mut anonymous = RawClient::new(&agents.url());
    anonymous.session = None;
    for guess in stream + 1..stream + 6 {
        let response = anonymous.resume(&format!("{guess}-0")).await;
        let status = response.status().as_u16();
        let stolen = RawClient::read_events(response, Duration::from_secs(3), |_| false).await;
        assert!(
            stolen.events.iter().all(|e| message_of(e).is_none()),
            "guess {guess}-0 (status {status}) replayed {:?}",
            stolen.events
        );
    }
    agents.shutdown().await;
}

/// The answer to `body` from `client`, with `authorization` when given.
async fn answer_of(client: &RawClient, body: &Value, authorization: Option<&str>) -> Value {
    let mut request = client.post(body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let id = body["id"].clone();
    let read = RawClient::read_events(request.send().await.unwrap(), TEST_LIMIT, |e| {
        message_of(e).is_some_and(|m| m["id"] == id && m.get("method").is_none())
    })
    .await;
    read.events
        .iter()
        .filter_map(message_of)
        .find(|m| m["id"] == id && m.get("method").is_none())
        .unwrap_or_else(|| panic!("no answer to {body}: {:?}", read.events))
}

/// A run started with a bearer token belongs to that credential: another
/// client's `resources/list` does not hold it (its `resources/read` would be
/// refused), so a listing never names a resource its reader cannot read.
#[tokio::test]
async fn a_run_bound_to_a_credential_is_listed_only_to_it() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut owner = RawClient::new(&agents.url());
    owner.initialize(json!({})).await;
    let token = Some("Bearer owner-token");
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "long_running_agent", "arguments": {"steps": 1}}});
    let result = answer_of(&owner, &call, token).await;
    let uri = result["result"]["content"]
        .as_array()
        .and_then(|parts| parts.iter().find_map(|p| p["uri"].as_str()))
        .expect("a run link")
        .to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "resources/list"});
    let listed = |answer: &Value| {
        answer["result"]["resources"]
            .as_array()
            .is_some_and(|all| all.iter().any(|r| r["uri"] == uri.as_str()))
    };
    assert!(
        listed(&answer_of(&owner, &list, token).await),
        "the owner sees its run"
    );
    let mut other = RawClient::new(&agents.url());
    other.initialize(json!({})).await;
    assert!(
        !listed(&answer_of(&other, &list, None).await),
        "another client does not"
    );
    let read =
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": uri}});
    assert!(answer_of(&other, &read, None).await.get("error").is_some());
    assert!(
        answer_of(&owner, &read, token)
            .await
            .get("result")
            .is_some()
    );
    agents.shutdown().await;
}
