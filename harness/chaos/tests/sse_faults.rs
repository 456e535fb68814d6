//! SSE-level faults proven by what a client actually receives through the proxy,
//! and recorded faithfully (delivered vs withheld) in the transcript.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mcp_harness_chaos::{
    FaultRule, HoldUntil, ProxyConfig, Recorder, RecordingProxy, StreamFault, StreamSelector,
};
use mcp_harness_wire::{Delivery, EndReason, SseDecoder, SseEvent, Transcript, WireEvent};
use support::start_upstream;

async fn proxy_to(upstream: &str) -> RecordingProxy {
    proxy_with(ProxyConfig {
        upstream: upstream.to_owned(),
        ..ProxyConfig::default()
    })
    .await
}

async fn proxy_with(config: ProxyConfig) -> RecordingProxy {
    let recorder = Recorder::new(&config.upstream);
    RecordingProxy::start(config, recorder).await.unwrap()
}

/// What a client got: events (with arrival times) and whether the body ended cleanly.
struct Received {
    events: Vec<(SseEvent, Instant)>,
    clean_end: bool,
}

async fn receive(url: &str) -> Received {
    let response = reqwest::get(url).await.expect("response head");
    let mut response = response;
    let mut decoder = SseDecoder::default();
    let mut events = Vec::new();
    let clean_end = loop {
        match tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("bounded")
        {
            Ok(Some(chunk)) => {
                let mut fresh = Vec::new();
                decoder.feed(&chunk, &mut fresh).unwrap();
                events.extend(fresh.into_iter().map(|e| (e, Instant::now())));
            }
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    Received { events, clean_end }
}

fn ids(received: &Received) -> Vec<String> {
    received
        .events
        .iter()
        .filter_map(|(e, _)| e.id.clone())
        .collect()
}

fn sse_records(transcript: &Transcript) -> Vec<(String, Delivery)> {
    transcript
        .records
        .iter()
        .filter_map(|r| match &r.event {
            WireEvent::Sse { id, delivery, .. } => {
                Some((id.clone().unwrap_or_default(), *delivery))
            }
            _ => None,
        })
        .collect()
}

async fn wait_for_end(recorder: &Arc<Recorder>) -> (EndReason, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ended = recorder
            .transcript()
            .records
            .iter()
            .find_map(|r| match &r.event {
                WireEvent::StreamEnd { reason, detail, .. } => Some((*reason, detail.clone())),
                _ => None,
            });
        if let Some(ended) = ended {
            return ended;
        }
        assert!(Instant::now() < deadline, "no stream end recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn cut_rule(fault: StreamFault) -> FaultRule {
    FaultRule {
        select: StreamSelector {
            http_method: Some("GET".into()),
            ..Default::default()
        },
        fault,
    }
}

#[tokio::test]
async fn without_faults_every_event_passes_and_is_recorded() {
    let (upstream, _) = start_upstream().await;
    let proxy = proxy_to(&upstream).await;
    let got = receive(&format!("{}/events?n=5", proxy.base_url())).await;
    assert!(got.clean_end);
    assert_eq!(ids(&got), ["1", "2", "3", "4", "5", "6"]);
    let (reason, _) = wait_for_end(proxy.recorder()).await;
    assert_eq!(reason, EndReason::Complete);
    let records = sse_records(&proxy.recorder().transcript());
    assert_eq!(records.len(), 6);
    assert!(records.iter().all(|(_, d)| *d == Delivery::Delivered));
}

#[tokio::test]
async fn a_partition_after_n_delivers_exactly_n_and_records_the_rest_as_withheld() {
    let (upstream, _) = start_upstream().await;
    for n in [0u32, 1, 3] {
        let proxy = proxy_to(&upstream).await;
        proxy.add_fault(cut_rule(StreamFault::Partition { after: n }));
        let got = receive(&format!("{}/events?n=5&gap_ms=5", proxy.base_url())).await;
        assert!(
            !got.clean_end,
            "a cut is a dropped connection, not a clean end"
        );
        assert_eq!(got.events.len(), n as usize, "cut after {n}");
        let (reason, detail) = wait_for_end(proxy.recorder()).await;
        assert_eq!(reason, EndReason::Cut);
        assert!(
            detail.unwrap().contains("Complete"),
            "the server's side ran to its end"
        );
        let records = sse_records(&proxy.recorder().transcript());
        assert_eq!(records.len(), 6, "every event the server sent is recorded");
        for (i, (id, delivery)) in records.iter().enumerate() {
            let expected = if (i as u32) < n {
                Delivery::Delivered
            } else {
                Delivery::Withheld
            };
            assert_eq!(*delivery, expected, "event {id} after a cut at {n}");
        }
    }
}

#[tokio::test]
async fn stall_and_delay_hold_events_back_in_time() {
    let (upstream, _) = start_upstream().await;
    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(cut_rule(StreamFault::Stall { after: 2, ms: 400 }));
    let got = receive(&format!("{}/events?n=4", proxy.base_url())).await;
    assert_eq!(got.events.len(), 5);
    let gap = got.events[2].1 - got.events[1].1;
    assert!(
        gap >= Duration::from_millis(390),
        "stall between events 2 and 3 was {gap:?}"
    );

    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(cut_rule(StreamFault::Delay { ms: 100 }));
    let started = Instant::now();
    let got = receive(&format!("{}/events?n=4", proxy.base_url())).await;
    assert_eq!(got.events.len(), 5);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "5 events delayed 100 ms each took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn close_with_retry_ends_cleanly_after_a_retry_hint() {
    let (upstream, _) = start_upstream().await;
    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(cut_rule(StreamFault::CloseWithRetry {
        after: 2,
        retry_ms: 1500,
    }));
    let got = receive(&format!("{}/events?n=5", proxy.base_url())).await;
    assert!(got.clean_end, "closed cleanly");
    assert_eq!(ids(&got), ["1", "2"]);
    assert_eq!(got.events.last().unwrap().0.retry_ms, Some(1500));
    let (reason, detail) = wait_for_end(proxy.recorder()).await;
    assert_eq!(reason, EndReason::Closed);
    assert!(
        detail.unwrap().contains("closed by the proxy"),
        "the server's stream is closed too"
    );
    // Event 3 triggered the close; any already read with it is withheld too,
    // nothing read after it.
    let withheld = sse_records(&proxy.recorder().transcript())
        .iter()
        .filter(|(_, d)| *d == Delivery::Withheld)
        .count();
    assert!((1..=4).contains(&withheld), "{withheld} withheld");
}

#[tokio::test]
async fn dropped_requests_never_arrive_and_dropped_responses_arrive_but_are_lost() {
    let (upstream, counters) = start_upstream().await;
    let proxy = proxy_to(&upstream).await;
    let post = FaultRule {
        select: StreamSelector {
            rpc_method: Some("ping".into()),
            occurrence: Some(1),
            ..Default::default()
        },
        fault: StreamFault::DropRequest,
    };
    proxy.add_fault(post);
    let client = reqwest::Client::new();
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let url = format!("{}/mcp", proxy.base_url());
    assert!(
        client.post(&url).json(&body).send().await.is_err(),
        "the connection is dropped"
    );
    assert_eq!(
        counters.posts.load(Ordering::Relaxed),
        0,
        "the server never saw it"
    );
    let ok = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(ok.status(), 200, "only the first occurrence is dropped");
    assert_eq!(counters.posts.load(Ordering::Relaxed), 1);

    proxy.add_fault(FaultRule {
        select: StreamSelector {
            rpc_method: Some("tools/list".into()),
            ..Default::default()
        },
        fault: StreamFault::DropResponse,
    });
    let list = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert!(client.post(&url).json(&list).send().await.is_err());
    assert_eq!(
        counters.posts.load(Ordering::Relaxed),
        2,
        "the server handled it"
    );
    let transcript = proxy.recorder().transcript();
    let withheld = transcript.records.iter().any(|r| matches!(&r.event, WireEvent::Response { delivery: Delivery::Withheld, body, .. } if body.json().is_some()));
    assert!(withheld, "the lost response is recorded as withheld");
}

#[tokio::test]
async fn a_response_can_be_held_until_another_request_arrives() {
    let (upstream, _) = start_upstream().await;
    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(cut_rule(StreamFault::HoldResponse {
        until: HoldUntil::Request {
            method: "POST".into(),
        },
    }));
    let url = format!("{}/events?n=2", proxy.base_url());
    let reader = tokio::spawn(async move { receive(&url).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let release = Instant::now();
    let posted = reqwest::Client::new()
        .post(format!("{}/mcp", proxy.base_url()))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let got = reader.await.unwrap();
    assert_eq!(got.events.len(), 3);
    assert!(
        got.events[2].1 >= release,
        "the response came only after the POST"
    );
    assert!(got.events[1].1 < release, "notifications were not held");
}

#[tokio::test]
async fn hostile_upstreams_end_streams_with_recorded_errors_and_the_proxy_keeps_serving() {
    let (upstream, _) = start_upstream().await;
    let proxy = proxy_with(ProxyConfig {
        upstream: upstream.clone(),
        max_event_bytes: 1024 * 1024,
        response_timeout: Duration::from_millis(500),
        ..ProxyConfig::default()
    })
    .await;
    let base = proxy.base_url();
    for (path, expect) in [
        ("/partial", "no terminating blank line"),
        ("/huge", "larger than the limit"),
        ("/garbage", "invalid UTF-8"),
    ] {
        let started = Instant::now();
        let got = receive(&format!("{base}{path}")).await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} bounded"
        );
        assert!(!got.clean_end || path == "/partial", "{path}");
        let transcript = proxy.recorder().transcript();
        let found = transcript.records.iter().any(|r| matches!(&r.event, WireEvent::StreamEnd { reason: EndReason::UpstreamError, detail: Some(d), .. } if d.contains(expect)));
        assert!(
            found,
            "{path}: expected an upstream error mentioning {expect:?}"
        );
    }
    let started = Instant::now();
    let hung = reqwest::get(format!("{base}/hang")).await.unwrap();
    assert_eq!(hung.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(5));
    let fine = receive(&format!("{base}/events?n=2")).await;
    assert_eq!(fine.events.len(), 3, "still serving");
}

#[tokio::test]
async fn the_transcript_file_reads_back_as_written() {
    let (upstream, _) = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transcript.jsonl");
    let proxy = proxy_to(&upstream).await;
    proxy.recorder().write_to(&path).unwrap();
    proxy.add_fault(cut_rule(StreamFault::Cut { after: 1 }));
    let _ = receive(&format!("{}/events?n=3", proxy.base_url())).await;
    wait_for_end(proxy.recorder()).await;
    proxy.recorder().flush();
    let text = std::fs::read_to_string(&path).unwrap();
    let read = Transcript::from_jsonl(&text).unwrap();
    assert_eq!(read, proxy.recorder().transcript());
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("mcp-harness-transcript")
    );
}

#[tokio::test]
async fn an_upstream_that_speaks_garbage_gets_a_502_and_a_recorded_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 1024];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(b"\x00\x01NOT HTTP AT ALL\r\n\r\n\xff")
                .await;
        }
    });
    let proxy = proxy_to(&format!("http://{addr}")).await;
    let started = Instant::now();
    let response = reqwest::get(format!("{}/mcp", proxy.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(started.elapsed() < Duration::from_secs(5));
    let (reason, detail) = wait_for_end(proxy.recorder()).await;
    assert_eq!(reason, EndReason::UpstreamError);
    assert!(detail.unwrap().contains("no response from the server"));
}

#[tokio::test]
async fn the_proxy_can_answer_a_request_itself_with_a_status() {
    let (upstream, counters) = start_upstream().await;
    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(FaultRule {
        select: StreamSelector {
            rpc_method: Some("ping".into()),
            occurrence: Some(1),
            ..Default::default()
        },
        fault: StreamFault::Answer { status: 404 },
    });
    let client = reqwest::Client::new();
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let url = format!("{}/mcp", proxy.base_url());
    let expired = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(expired.status(), 404);
    assert_eq!(counters.posts.load(Ordering::Relaxed), 0, "never forwarded");
    let ok = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(ok.status(), 200, "only the first occurrence");
    let transcript = proxy.recorder().transcript();
    assert!(
        transcript
            .records
            .iter()
            .any(|r| matches!(&r.event, WireEvent::Response { status: 404, .. }))
    );
}

#[tokio::test]
async fn a_crlf_stream_passes_through_byte_for_byte() {
    let body: &[u8] = b"id: 1\r\ndata: {\"n\":1}\r\n\r\nid: 2\r\ndata: {\"n\":2}\r\n\r\n";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(body).await.unwrap();
        let _ = socket.shutdown().await;
    });
    let proxy = proxy_to(&upstream).await;
    let got = reqwest::Client::new()
        .get(format!("{}/mcp", proxy.base_url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        &got[..],
        body,
        "every byte, the final \\n of the last CRLF included"
    );
}

/// A raw HTTP/1.1 server on 127.0.0.1 that answers one request with an endless
/// SSE stream (an event every `gap`) and reports, through its channel, the
/// moment it wrote event 3 and the moment it saw its connection close (a read
/// of EOF or a failed write), whichever comes first.
async fn raw_endless_sse(
    gap: Duration,
) -> (String, tokio::sync::mpsc::Receiver<(Instant, Instant)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (mut read, mut write) = socket.into_split();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if read.read(&mut byte).await.unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        write
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let eof = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                match read.read(&mut buf).await {
                    Ok(0) | Err(_) => return Instant::now(),
                    Ok(_) => {}
                }
            }
        });
        let mut third = None;
        let writes = async {
            for i in 1u32.. {
                let event = format!(
                    "id: {i}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":1,\"progress\":{i}}}}}\n\n"
                );
                let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                if write.write_all(chunk.as_bytes()).await.is_err() {
                    return Instant::now();
                }
                if i == 3 {
                    third = Some(Instant::now());
                }
                tokio::time::sleep(gap).await;
            }
            unreachable!()
        };
        let closed = tokio::select! {
            at = eof => at.unwrap(),
            at = writes => at,
        };
        let _ = tx.send((third.unwrap_or(closed), closed)).await;
    });
    (url, rx)
}

#[tokio::test]
async fn a_cut_closes_the_servers_side_within_50_ms() {
    let (upstream, mut closed) = raw_endless_sse(Duration::from_millis(20)).await;
    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(cut_rule(StreamFault::Cut { after: 2 }));
    let got = receive(&format!("{}/events", proxy.base_url())).await;
    assert!(!got.clean_end, "a cut is a dropped connection");
    assert_eq!(got.events.len(), 2);
    let (third_written, server_saw_close) =
        tokio::time::timeout(Duration::from_secs(5), closed.recv())
            .await
            .expect("the server saw its connection close")
            .unwrap();
    // The cut happens when event 3 reaches the proxy, right after it was written.
    let after = server_saw_close.saturating_duration_since(third_written);
    eprintln!("the server saw the cut {after:?} after writing event 3");
    assert!(
        after < Duration::from_millis(50),
        "the server saw the cut {after:?} after writing the event that triggered it"
    );
    let (reason, detail) = wait_for_end(proxy.recorder()).await;
    assert_eq!(reason, EndReason::Cut);
    assert!(detail.unwrap().contains("closed by the proxy"));
}

#[tokio::test]
async fn a_partition_keeps_the_servers_stream_open_and_records_what_it_sends() {
    let (upstream, mut closed) = raw_endless_sse(Duration::from_millis(10)).await;
    let proxy = proxy_with(ProxyConfig {
        upstream: upstream.clone(),
        drain_limit: Duration::from_millis(400),
        ..ProxyConfig::default()
    })
    .await;
    proxy.add_fault(cut_rule(StreamFault::Partition { after: 2 }));
    let got = receive(&format!("{}/events", proxy.base_url())).await;
    assert!(!got.clean_end);
    assert_eq!(got.events.len(), 2);
    let (third_written, server_saw_close) =
        tokio::time::timeout(Duration::from_secs(5), closed.recv())
            .await
            .expect("the drain is bounded")
            .unwrap();
    let after = server_saw_close.saturating_duration_since(third_written);
    assert!(
        after >= Duration::from_millis(300),
        "the server's stream was kept for the drain, not closed after {after:?}"
    );
    let (reason, _) = wait_for_end(proxy.recorder()).await;
    assert_eq!(reason, EndReason::Cut);
    let records = sse_records(&proxy.recorder().transcript());
    let withheld = records
        .iter()
        .filter(|(_, d)| *d == Delivery::Withheld)
        .count();
    assert!(
        withheld >= 10,
        "what the server sent during the partition is recorded: {withheld} events"
    );
}

#[tokio::test]
async fn a_dropped_stream_response_closes_the_servers_side_too() {
    let (upstream, mut closed) = raw_endless_sse(Duration::from_millis(20)).await;
    let proxy = proxy_to(&upstream).await;
    proxy.add_fault(cut_rule(StreamFault::DropResponse));
    let client = reqwest::Client::new();
    let sent = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(format!("{}/events", proxy.base_url())).send(),
    )
    .await
    .expect("bounded");
    assert!(sent.is_err(), "the client never gets a response");
    // Without the close, the endless server would write for ever.
    tokio::time::timeout(Duration::from_secs(5), closed.recv())
        .await
        .expect("the server saw its connection close")
        .unwrap();
    let (reason, detail) = wait_for_end(proxy.recorder()).await;
    assert_eq!(reason, EndReason::Cut);
    assert!(detail.unwrap().contains("closed by the proxy"));
}
