//! `mcp-harness proxy` as a process: forwards to the agents, applies --fault
//! rules, writes the transcript file, refuses bad usage with exit code 2.

#[path = "../../agents/tests/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mcp_harness_wire::{Transcript, WireEvent};
use serde_json::json;
use support::{RawClient, start_agents};

/// Start `mcp-harness proxy` in front of `upstream`, recording to `record`,
/// with `extra` arguments; returns the process and the URL it listens on.
fn start_proxy(
    upstream: &str,
    record: &std::path::Path,
    extra: &[&str],
) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args([
            "proxy",
            "--upstream",
            upstream,
            "--listen",
            "127.0.0.1:0",
            "--api",
            "127.0.0.1:0",
            "--record",
        ])
        .arg(record)
        .args(extra)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let banner = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let url = banner
        .split("recording proxy on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_owned();
    (child, url)
}

#[tokio::test]
async fn a_recording_proxy_killed_with_sigkill_leaves_a_readable_transcript() {
    let agents = start_agents(Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("run.jsonl");
    let (mut child, url) = start_proxy(&format!("http://{}", agents.addr()), &record, &[]);
    let mut client = RawClient::new(&format!("{url}/mcp"));
    client.initialize(json!({})).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let answered = RawClient::read_events(
        client.post(&list).send().await.unwrap(),
        Duration::from_secs(10),
        |_| false,
    )
    .await;
    assert!(!answered.events.is_empty(), "tools/list was answered");
    // The flusher writes records while the proxy runs: wait (bounded) until the
    // end of the tools/list stream is in the file, then kill without warning.
    let ended = |text: &str| {
        Transcript::from_jsonl(text).is_ok_and(|t| {
            t.records
                .iter()
                .filter(|r| matches!(r.event, WireEvent::StreamEnd { .. }))
                .count()
                >= 2
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ended(&std::fs::read_to_string(&record).unwrap_or_default()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the running proxy never wrote the call's records to its file"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = child.wait();
    let text = std::fs::read_to_string(&record).unwrap();
    let transcript = Transcript::from_jsonl(&text).unwrap();
    assert!(transcript.records.iter().any(|r| matches!(&r.event,
        WireEvent::Request { body, .. } if body.json().is_some_and(|b| b["method"] == "tools/list"))));
    // A file cut inside its last line reads back too, and says so.
    let cut = &text[..text.len() - 10];
    let partial = Transcript::from_jsonl(cut).unwrap();
    assert!(
        matches!(&partial.records.last().unwrap().event,
            WireEvent::Note { text } if text.contains("stopped mid-write")),
        "{:?}",
        partial.records.last()
    );
}

#[tokio::test]
async fn the_proxy_command_records_and_injects_faults() {
    let agents = start_agents(Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("run.jsonl");
    let (mut child, url) = start_proxy(
        &format!("http://{}", agents.addr()),
        &record,
        &[
            "--fault",
            r#"{"fault":"cut","after":1,"select":{"rpc_method":"tools/list"}}"#,
        ],
    );

    let mut client = RawClient::new(&format!("{url}/mcp"));
    client.initialize(json!({})).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let cut = RawClient::read_events(
        client.post(&list).send().await.unwrap(),
        Duration::from_secs(10),
        |_| false,
    )
    .await;
    assert_eq!(
        cut.events.len(),
        1,
        "--fault cut after 1 applies to tools/list"
    );

    // SIGINT stops it cleanly and flushes the transcript.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let transcript = Transcript::from_jsonl(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let requests = transcript
        .records
        .iter()
        .filter(|r| matches!(r.event, WireEvent::Request { .. }))
        .count();
    assert!(
        requests >= 3,
        "initialize, initialized and tools/list recorded: {requests}"
    );
    assert!(transcript.records.iter().any(|r| matches!(
        &r.event,
        WireEvent::Fault {
            phase: mcp_harness_wire::FaultPhase::Fired,
            fault: mcp_harness_wire::Fault::Stream {
                fault: mcp_harness_wire::StreamFault::Cut { .. }
            },
            ..
        }
    )));
    agents.shutdown().await;
}

#[test]
fn bad_usage_exits_2_with_a_hint() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
            .args(args)
            .output()
            .unwrap()
    };
    let remote = run(&["proxy", "--upstream", "http://10.1.2.3:8006"]);
    assert_eq!(remote.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&remote.stderr).contains("--allow-non-loopback"));
    let bad_fault = run(&[
        "proxy",
        "--upstream",
        "http://127.0.0.1:9",
        "--fault",
        "{\"fault\":\"explode\"}",
    ]);
    assert_eq!(bad_fault.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_fault.stderr).contains("--fault #1"));
    let unknown = run(&["serve", "--time-scale", "fast"]);
    assert_eq!(unknown.status.code(), Some(2));
}
