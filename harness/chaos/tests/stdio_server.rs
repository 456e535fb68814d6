//! StdioServer on real processes: lines recorded both ways and delivered,
//! a line past the limit recorded by its size only, and the shutdown steps
//! (stdin closed, SIGTERM, SIGKILL) each taken only when the last did not
//! end the process, each recorded.

use std::time::Duration;

use mcp_harness_chaos::stdio::MAX_LINE_BYTES;
use mcp_harness_chaos::{FromServer, Recorder, ShutdownStep, StdioServer};
use mcp_harness_wire::{Body, ProcessEvent, Side, WireEvent};
use serde_json::json;

fn events(recorder: &Recorder) -> Vec<WireEvent> {
    recorder
        .transcript()
        .records
        .into_iter()
        .map(|r| r.event)
        .collect()
}

fn process_events(recorder: &Recorder) -> Vec<ProcessEvent> {
    events(recorder)
        .into_iter()
        .filter_map(|e| match e {
            WireEvent::Process { event, .. } => Some(event),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn lines_are_recorded_both_ways_and_the_server_s_are_delivered() {
    let recorder = Recorder::new("echo");
    // An echo server that also logs on stderr.
    let (server, mut from_server) = StdioServer::start(
        "sh -c 'while read -r line; do echo \"got it\" >&2; echo \"$line\"; done'",
        recorder.clone(),
    )
    .await
    .unwrap();
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"});
    server.send(&request.to_string()).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), from_server.recv())
        .await
        .unwrap()
        .unwrap();
    match echoed {
        FromServer::Message(message, _) => assert_eq!(message, request),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.shutdown(Duration::from_secs(5)).await,
        ShutdownStep::StdinClosed
    );
    let lines: Vec<Side> = events(&recorder)
        .into_iter()
        .filter_map(|e| match e {
            WireEvent::Line { from, .. } => Some(from),
            _ => None,
        })
        .collect();
    assert_eq!(lines, [Side::Client, Side::Server]);
    assert!(
        events(&recorder)
            .iter()
            .any(|e| matches!(e, WireEvent::Stderr { text, .. } if text == "got it"))
    );
    assert_eq!(
        process_events(&recorder),
        [
            ProcessEvent::Started,
            ProcessEvent::StdinClosed,
            ProcessEvent::StdoutClosed,
            ProcessEvent::Exited
        ]
    );
}

#[tokio::test]
async fn a_line_past_the_limit_is_recorded_by_its_size_and_not_delivered() {
    let recorder = Recorder::new("flood");
    let bytes = MAX_LINE_BYTES + 1000;
    let (server, mut from_server) = StdioServer::start(
        &format!("sh -c 'head -c {bytes} /dev/zero | tr \"\\0\" a; echo; echo \"{{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"method\\\":\\\"x\\\"}}\"; cat'"),
        recorder.clone(),
    )
    .await
    .unwrap();
    // The next line still arrives, and is the first thing delivered.
    let first = tokio::time::timeout(Duration::from_secs(20), from_server.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, FromServer::Message(m, _) if m["method"] == "x"));
    server.shutdown(Duration::from_secs(5)).await;
    let truncated = events(&recorder).into_iter().find_map(|e| match e {
        WireEvent::Line {
            body: Body::Truncated { bytes },
            ..
        } => Some(bytes),
        _ => None,
    });
    assert_eq!(truncated, Some(bytes as u64));
}

#[tokio::test]
async fn a_server_deaf_to_its_stdin_and_to_sigterm_is_killed_and_each_step_recorded() {
    let recorder = Recorder::new("stubborn");
    let (server, _from_server) = StdioServer::start(
        "sh -c 'trap \"\" TERM; while :; do sleep 0.05; done'",
        recorder.clone(),
    )
    .await
    .unwrap();
    let step = server.shutdown(Duration::from_millis(300)).await;
    assert_eq!(step, ShutdownStep::Sigkill);
    let seen = process_events(&recorder);
    assert_eq!(seen[0], ProcessEvent::Started);
    assert_eq!(seen[1], ProcessEvent::StdinClosed);
    assert_eq!(seen[2], ProcessEvent::Sigterm);
    assert_eq!(seen[3], ProcessEvent::Sigkill);
    assert_eq!(*seen.last().unwrap(), ProcessEvent::Exited);
}
