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

#[tokio::test]
async fn the_proxy_command_records_and_injects_faults() {
    let agents = start_agents(Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("run.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args([
            "proxy",
            "--upstream",
            &format!("http://{}", agents.addr()),
            "--listen",
            "127.0.0.1:0",
            "--api",
            "127.0.0.1:0",
            "--record",
        ])
        .arg(&record)
        .args([
            "--fault",
            r#"{"fault":"cut","after":1,"select":{"rpc_method":"tools/list"}}"#,
        ])
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
    assert!(
        transcript
            .records
            .iter()
            .any(|r| matches!(&r.event, WireEvent::Fault { fault, .. } if fault == "cut"))
    );
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
