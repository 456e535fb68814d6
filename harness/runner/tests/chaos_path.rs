//! The reference agents behind the full chaos stack: a stream cut by the proxy
//! is resumed with Last-Event-ID, and the transcript shows every withheld event
//! delivered later exactly once; TCP toxics slow the real MCP traffic.

#[path = "../../agents/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mcp_harness_chaos::{
    ChaosStack, FaultRule, StackConfig, Stream, StreamFault, StreamSelector, Toxic, ToxicKind,
};
use mcp_harness_wire::{Delivery, WireEvent};
use serde_json::json;
use support::{RawClient, message_of, start_agents};

#[tokio::test]
async fn a_cut_stream_is_replayed_and_the_transcript_proves_it() {
    let agents = start_agents(Duration::from_secs(30)).await;
    let stack = ChaosStack::start(StackConfig::new(&format!("http://{}", agents.addr())))
        .await
        .unwrap();
    stack.add_fault(FaultRule {
        select: StreamSelector {
            tool: Some("travel_agent".into()),
            ..Default::default()
        },
        fault: StreamFault::Cut { after: 2 },
    });
    let mut client = RawClient::new(&format!("{}/mcp", stack.base_url()));
    client.initialize(json!({"elicitation": {}})).await;
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "travel_agent", "arguments": {}, "_meta": {"progressToken": "t"}}});
    let cut = RawClient::read_events(
        client.post(&call).send().await.unwrap(),
        Duration::from_secs(20),
        |_| false,
    )
    .await;
    assert_eq!(cut.events.len(), 2, "the proxy delivered exactly 2 events");
    let last_seen = cut.events[1].id.clone().unwrap();

    let resumed = client.resume(&last_seen).await;
    let mut answered = false;
    let mut seen = Vec::new();
    let mut response = resumed;
    let mut decoder = mcp_harness_wire::SseDecoder::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(10), response.chunk()).await
        else {
            break;
        };
        let mut events = Vec::new();
        decoder.feed(&chunk, &mut events).unwrap();
        for event in events {
            let message = message_of(&event);
            if let Some(m) = &message
                && m["method"] == "elicitation/create"
                && !answered
            {
                answered = true;
                let answer = json!({"jsonrpc": "2.0", "id": m["id"], "result": {"action": "accept", "content": {"confirm": true}}});
                assert_eq!(client.post(&answer).send().await.unwrap().status(), 202);
            }
            seen.push(event);
        }
        if seen
            .iter()
            .filter_map(message_of)
            .any(|m| m["id"] == 9 && m.get("result").is_some())
        {
            break;
        }
    }
    assert!(
        answered,
        "the elicitation request arrived on the resumed stream"
    );
    let final_text = seen
        .iter()
        .filter_map(message_of)
        .find(|m| m["id"] == 9)
        .unwrap()["result"]["content"][0]["text"]
        .clone();
    assert!(
        final_text.as_str().unwrap().contains("booked"),
        "{final_text}"
    );

    // The transcript: what the cut withheld on the POST stream was delivered on the GET stream, once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let transcript = stack.recorder().transcript();
    let mut delivered: HashMap<String, usize> = HashMap::new();
    let mut withheld = Vec::new();
    for record in &transcript.records {
        if let WireEvent::Sse {
            id: Some(id),
            delivery,
            ..
        } = &record.event
        {
            match delivery {
                Delivery::Delivered => *delivered.entry(id.clone()).or_default() += 1,
                Delivery::Withheld => withheld.push(id.clone()),
            }
        }
    }
    assert!(!withheld.is_empty(), "the cut withheld events");
    for id in &withheld {
        assert_eq!(
            delivered.get(id),
            Some(&1),
            "withheld event {id} must be replayed exactly once"
        );
    }
    assert!(
        delivered.values().all(|n| *n == 1),
        "no event delivered twice: {delivered:?}"
    );
    stack.shutdown().await;
    agents.shutdown().await;
}

#[tokio::test]
async fn tcp_latency_slows_real_mcp_requests() {
    let agents = start_agents(Duration::from_secs(30)).await;
    let stack = ChaosStack::start(StackConfig::new(&format!("http://{}", agents.addr())))
        .await
        .unwrap();
    let mut client = RawClient::new(&format!("{}/mcp", stack.base_url()));
    client.initialize(json!({})).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let quick = Instant::now();
    let _ = RawClient::read_events(
        client.post(&list).send().await.unwrap(),
        Duration::from_secs(10),
        |e| message_of(e).is_some(),
    )
    .await;
    let baseline = quick.elapsed();
    stack
        .add_toxic(&Toxic {
            name: "slow".into(),
            stream: Stream::Downstream,
            toxicity: 1.0,
            kind: ToxicKind::Latency {
                latency: 250,
                jitter: 0,
            },
        })
        .await
        .unwrap();
    let slow = Instant::now();
    let read = RawClient::read_events(
        client.post(&list).send().await.unwrap(),
        Duration::from_secs(10),
        |e| message_of(e).is_some(),
    )
    .await;
    assert!(
        read.events
            .iter()
            .filter_map(message_of)
            .any(|m| m["id"] == 2)
    );
    assert!(
        slow.elapsed() >= Duration::from_millis(245),
        "with latency {:?}, without {baseline:?}",
        slow.elapsed()
    );
    stack.remove_toxic("slow").await.unwrap();
    stack.set_network(false).await.unwrap();
    let down = client.post(&list).send().await;
    assert!(
        down.is_err() || down.is_ok_and(|r| r.status() == 502),
        "network down: the proxy cannot reach the server"
    );
    stack.set_network(true).await.unwrap();
    stack.shutdown().await;
    agents.shutdown().await;
}
