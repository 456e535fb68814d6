//! The reference agents over stdio (`mcp-harness serve --stdio`), as a client
//! that starts them sees them: a real process, JSON-RPC lines both ways, a
//! server-to-client elicitation answered on stdin, nothing but messages on
//! stdout, and an exit once stdin closes.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

async fn send(stdin: &mut tokio::process::ChildStdin, message: Value) {
    let mut line = message.to_string();
    line.push('\n');
    stdin.write_all(line.as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
}

#[tokio::test]
async fn a_travel_call_over_stdio_asks_its_question_on_stdout_and_the_server_exits_when_stdin_closes()
 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args(["serve", "--stdio", "--time-scale", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen: Vec<Value> = Vec::new();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("stdout still open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout carried `{line}`: {e}"))
    };

    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "stdio-test", "version": "0"}}}),
    )
    .await;
    let init = next().await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    send(&mut stdin, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "travel_agent", "arguments": {"destination": "Oslo"}, "_meta": {"progressToken": "trip"}}})).await;
    let result = loop {
        let message = next().await;
        seen.push(message.clone());
        if message["method"] == "elicitation/create" {
            assert!(
                message["params"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Oslo")
            );
            send(
                &mut stdin,
                json!({"jsonrpc": "2.0", "id": message["id"], "result": {
                "action": "accept", "content": {"confirm": true, "notes": "by the fjord"}}}),
            )
            .await;
        } else if message["id"] == json!(2) {
            break message;
        }
    };
    let text = result["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("booked") && text.contains("by the fjord"),
        "{result}"
    );
    let progress: Vec<f64> = seen
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(progress, [0.0, 25.0, 50.0, 75.0, 100.0]);

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s of stdin closing")
        .unwrap();
    assert!(status.success(), "{status}");
}
