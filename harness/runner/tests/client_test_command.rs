//! `mcp-harness client-test` end to end: the reference host keeps every client
//! rule in every client scenario; clients that do not exist, fail, hang or
//! flood get a failing verdict in bounded time and leave no process behind;
//! and the host, killed with SIGKILL mid-call behind the proxy, resumes from
//! its token file and shows the result once.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-harness")
}

fn harness(args: &[&str]) -> Output {
    Command::new(exe())
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

/// The reference agents in this process, in memory, at `time_scale`.
fn start_agents(
    runtime: &tokio::runtime::Runtime,
    time_scale: f64,
) -> mcp_harness_agents::RunningAgents {
    runtime.block_on(async {
        mcp_harness_agents::serve(mcp_harness_agents::ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            settings: mcp_harness_agents::AgentSettings {
                time_scale,
                input_timeout: Duration::from_secs(10),
            },
            store: mcp_harness_agents::StoreChoice::Memory,
            ..mcp_harness_agents::ServeConfig::default()
        })
        .await
        .unwrap()
    })
}

/// `mcp-harness host URL ARGS --token-file TOKEN`, its output piped.
fn spawn_host(url: &str, args: &[&str], token: &Path) -> std::process::Child {
    Command::new(exe())
        .args(["host", url])
        .args(args)
        .arg("--token-file")
        .arg(token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_reference_host_keeps_every_client_rule_in_every_scenario() {
    let host = format!("{} host", exe());
    let run = harness(&["client-test", "--client-cmd", &host, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&run.stdout), text(&run.stderr)));
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        serde_json::to_string_pretty(&report["summary"]).unwrap()
    );
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 11, "{}", cases.len());
    // The rules were exercised, not just not broken.
    let passed = |check: &str| {
        cases
            .iter()
            .flat_map(|c| c["verdicts"].as_array().unwrap())
            .filter(|v| v["check"] == check && v["outcome"]["outcome"] == "pass")
            .count()
    };
    for check in [
        "client.headers_after_init",
        "client.reinitializes_after_404",
        "client.resumes_with_last_event_id",
        "client.waits_retry",
        "client.answers_once",
        "client.elicitation_answer_valid",
        "client.sampling_result_well_formed",
        "client.delete_when_done",
    ] {
        assert!(passed(check) > 0, "{check} was never exercised");
    }
}

/// Whether no live process has `pattern` in its command line (read from /proc,
/// so the test needs no pgrep).
fn no_process_matches(pattern: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    !entries.flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(pattern)
        })
    })
}

#[test]
fn missing_failing_hanging_and_flooding_clients_fail_in_bounded_time() {
    let out = tempfile::tempdir().unwrap();
    for (name, cmd) in [
        ("missing", "definitely-not-a-client-7f3a"),
        ("exits early", "sh -c 'exit 3'"),
        ("hangs", "sh -c 'sleep 613 & sleep 614'"),
        ("floods", "sh -c 'yes flood; true'"),
    ] {
        let started = Instant::now();
        let run = harness(&[
            "client-test",
            "--client-cmd",
            cmd,
            "travel@2025-11-25",
            "--client-timeout",
            "3s",
            "--out",
            out.path().to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(1), "{name}: {}", text(&run.stdout));
        assert!(
            text(&run.stdout).contains("client.completed"),
            "{name}: {}",
            text(&run.stdout)
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name}: {:?}",
            started.elapsed()
        );
        let kept = std::fs::read_to_string(
            out.path()
                .join("transcripts")
                .join("client__travel@2025-11-25.client.txt"),
        )
        .unwrap();
        assert!(
            kept.len() < 200 * 1024,
            "{name}: output bounded ({} bytes)",
            kept.len()
        );
    }
    assert!(
        no_process_matches("sleep 613"),
        "the hanging client's tree was reaped"
    );
    assert!(
        no_process_matches("sleep 614"),
        "the hanging client was reaped"
    );
}

#[test]
fn the_host_killed_mid_call_resumes_from_its_token_file_through_the_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("agents.db");
    let token = dir.path().join("call.json");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, stack) = runtime.block_on(async {
        let command = format!(
            "{} serve --listen 127.0.0.1:{{port}} --time-scale 0.15 --store {}",
            exe(),
            store.display()
        );
        let server =
            mcp_harness_chaos::TargetProcess::start(&command, None, Duration::from_secs(30))
                .await
                .unwrap();
        let stack = mcp_harness_chaos::ChaosStack::start(mcp_harness_chaos::StackConfig::new(
            &format!("http://127.0.0.1:{}", server.port()),
        ))
        .await
        .unwrap();
        (server, stack)
    });
    let url = format!("{}/mcp", stack.base_url());
    let host = |token: &Path| {
        spawn_host(
            &url,
            &["--tool", "long_running", "--arguments", r#"{"steps": 6}"#],
            token,
        )
    };
    // First run: killed with SIGKILL after it showed two progress lines.
    let mut first = host(&token);
    let mut shown_first = Vec::new();
    for line in BufReader::new(first.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("progress") {
            shown_first.push(line);
            if shown_first.len() == 2 {
                break;
            }
        }
    }
    first.kill().unwrap();
    let _ = first.wait();
    assert!(token.exists(), "the token survives the kill");
    // Second run: resumes, shows the rest once, and the result once.
    let second = host(&token).wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let stderr = text(&second.stderr);
    assert!(stderr.contains("resuming call"), "{stderr}");
    let shown_second: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress"))
        .collect();
    for line in &shown_second {
        assert!(!shown_first.iter().any(|f| f == line), "{line} shown twice");
    }
    assert_eq!(
        shown_first.len() + shown_second.len(),
        6,
        "every step shown exactly once: {shown_first:?} then {shown_second:?}"
    );
    let stdout = text(&second.stdout);
    assert_eq!(
        stdout.matches("result: Completed 6 steps").count(),
        1,
        "{stdout}"
    );
    assert!(!token.exists(), "the call is over: no token left");
    // The wire agrees: the resume replayed each missed event once.
    let verdicts = mcp_harness_checks::judge(&stack.recorder().transcript());
    let failed: Vec<_> = verdicts
        .iter()
        .filter(|v| v.outcome == mcp_harness_checks::Outcome::Fail)
        .map(|v| (&v.check, &v.findings))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    runtime.block_on(async {
        stack.shutdown().await;
        let mut server = server;
        server.kill().await;
    });
}

/// A client fault, the case that exposes it, and the checks it breaks.
type ClientFixture = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Each client fault of the host (a client fixture with a fault switch) breaks
/// exactly the client checks it targets, plus `client.completed` where the
/// broken rule costs the client its result.
#[test]
fn each_client_fault_fails_exactly_its_checks() {
    let table: [ClientFixture; 12] = [
        (
            "omit-version-header",
            "travel@2025-11-25",
            &[("client.headers_after_init", "fail")],
        ),
        (
            "resume-from-first-event",
            "cut_mid_stream@2025-11-25",
            &[("client.resumes_with_last_event_id", "warn")],
        ),
        (
            "ignore-retry",
            "sse_polling@2025-11-25",
            &[("client.waits_retry", "fail")],
        ),
        (
            "answer-twice",
            "travel@2025-11-25",
            &[("client.answers_once", "fail")],
        ),
        // The server honours the cancellation: the client loses its result.
        (
            "cancel-on-disconnect",
            "cut_mid_stream@2025-11-25",
            &[
                ("client.no_cancel_on_disconnect", "warn"),
                ("client.completed", "fail"),
            ],
        ),
        // The server refuses the bad answer: the call ends in an error.
        (
            "invalid-elicitation-answer",
            "travel@2025-11-25",
            &[
                ("client.elicitation_answer_valid", "fail"),
                ("client.completed", "fail"),
            ],
        ),
        (
            "malformed-sampling-result",
            "research@2025-11-25",
            &[
                ("client.sampling_result_well_formed", "fail"),
                ("client.schema_messages", "fail"),
                ("client.completed", "fail"),
            ],
        ),
        (
            "reuse-expired-session",
            "expired_session@2025-11-25",
            &[("client.reinitializes_after_404", "fail")],
        ),
        (
            "send-garbage",
            "travel@2025-11-25",
            &[("client.jsonrpc_well_formed", "fail")],
        ),
        (
            "no-delete",
            "travel@2025-11-25",
            &[("client.delete_when_done", "warn")],
        ),
        // 2026-07-28: a broken stream loses the call unless it is re-issued.
        (
            "no-reissue",
            "cut_mid_stream_2026@2026-07-28",
            &[
                ("client.reissues_broken_request", "fail"),
                ("client.completed", "fail"),
            ],
        ),
        // 2026-07-28: requests without Mcp-Method and Mcp-Name are refused.
        (
            "omit-mcp-headers",
            "cut_mid_stream_2026@2026-07-28",
            &[
                ("client.request_headers", "fail"),
                ("client.completed", "fail"),
            ],
        ),
    ];
    let mut problems = Vec::new();
    for (fault, case, wanted) in table {
        let cmd = format!("{} host --timeout 5s --misbehave {fault}", exe());
        let run = harness(&[
            "client-test",
            "--client-cmd",
            &cmd,
            case,
            "--client-timeout",
            "20s",
            "--format",
            "json",
        ]);
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let broken: std::collections::BTreeSet<(String, String)> = report["cases"][0]["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| ["fail", "warn"].contains(&v["outcome"]["outcome"].as_str().unwrap_or("")))
            .map(|v| {
                (
                    v["check"].as_str().unwrap().to_owned(),
                    v["outcome"]["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let wanted: std::collections::BTreeSet<(String, String)> = wanted
            .iter()
            .map(|(c, o)| (c.to_string(), o.to_string()))
            .collect();
        if broken != wanted {
            problems.push(format!(
                "{fault} on {case}: broke {broken:?}, expected {wanted:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every client check has a fault that breaks it.
    let covered: std::collections::BTreeSet<&str> = table
        .iter()
        .flat_map(|(_, _, w)| w.iter().map(|(c, _)| *c))
        .collect();
    // The stdio client check's fixture is a stdio client of its own (see
    // a_stdio_client_that_writes_text_on_the_server_s_stdin_fails_only_stdin_messages_only).
    for check in mcp_harness_checks::client_catalog()
        .iter()
        .filter(|c| c.transports != mcp_harness_checks::Transports::StdioOnly)
    {
        assert!(
            covered.contains(check.id),
            "no client fixture breaks {}",
            check.id
        );
    }
}

/// A real third-party client in the suite: the Python SDK's streamable HTTP
/// client (installed into .venv by ci/test.sh), its deviations in a baseline.
#[test]
fn the_python_sdk_client_passes_all_but_its_recorded_deviations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "no {} (hint: run ci/test.sh, or: python3 -m venv .venv && .venv/bin/pip install 'mcp==1.30.0')",
        python.display()
    );
    let cmd = format!("{} fixtures/python_sdk/client.py", python.display());
    let run = harness(&[
        "client-test",
        "--client-cmd",
        &cmd,
        "--client-timeout",
        "30s",
        "--expected-failures",
        "fixtures/profiles/python-sdk-client.expected-failures.txt",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&run.stdout), text(&run.stderr)));
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        serde_json::to_string_pretty(&report["summary"]).unwrap()
    );
    let passed = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["skipped"].is_null())
        .count();
    assert!(passed >= 5, "the 2025-11-25 cases ran: {passed}");
}

#[test]
fn the_host_asks_a_person_and_runs_a_model_command() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let agents = start_agents(&runtime, 0.0);
    let url = agents.url();
    // A person answers on stdin: accept, confirm, and a note.
    let mut asked = Command::new(exe())
        .args(["host", &url, "--tool", "travel", "--ask"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    asked
        .stdin
        .take()
        .unwrap()
        .write_all(b"a\ny\nwindow seat please\n")
        .unwrap();
    let asked = asked.wait_with_output().unwrap();
    assert_eq!(asked.status.code(), Some(0), "{}", text(&asked.stderr));
    assert!(
        text(&asked.stdout).contains("window seat please"),
        "{}",
        text(&asked.stdout)
    );
    assert!(text(&asked.stderr).contains("accept, decline or cancel?"));
    // A model behind a command answers sampling; it gets the messages on stdin.
    let sampled = Command::new(exe())
        .args([
            "host",
            &url,
            "--tool",
            "research",
            "--sample-cmd",
            "grep -c role >/dev/null && echo the model read the request",
        ])
        .output()
        .unwrap();
    assert_eq!(sampled.status.code(), Some(0), "{}", text(&sampled.stderr));
    assert!(
        text(&sampled.stdout).contains("the model read the request"),
        "{}",
        text(&sampled.stdout)
    );
    runtime.block_on(agents.shutdown());
}

#[test]
fn in_2026_the_host_killed_mid_call_re_issues_its_call() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("call.json");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let agents = start_agents(&runtime, 0.1);
    let url = agents.url();
    let host = || {
        spawn_host(
            &url,
            &[
                "--version",
                "2026-07-28",
                "--tool",
                "long_running",
                "--arguments",
                r#"{"steps": 4}"#,
            ],
            &token,
        )
    };
    let mut first = host();
    for line in BufReader::new(first.stderr.take().unwrap()).lines() {
        if line.unwrap().starts_with("progress") {
            break;
        }
    }
    first.kill().unwrap();
    let _ = first.wait();
    assert!(token.exists(), "the token survives the kill");
    let second = host().wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("re-issuing call"),
        "{}",
        text(&second.stderr)
    );
    assert_eq!(
        text(&second.stdout)
            .matches("result: Completed 4 steps")
            .count(),
        1
    );
    assert!(!token.exists());
    runtime.block_on(agents.shutdown());
}

#[test]
fn the_host_token_follows_a_call_it_re_issued_in_a_new_session() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("call.json");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let agents = start_agents(&runtime, 0.15);
    let stack = runtime.block_on(async {
        let stack = mcp_harness_chaos::ChaosStack::start(mcp_harness_chaos::StackConfig::new(
            &format!("http://{}", agents.addr()),
        ))
        .await
        .unwrap();
        // The first call finds its session expired.
        stack.add_fault(mcp_harness_chaos::FaultRule {
            select: mcp_harness_chaos::StreamSelector {
                rpc_method: Some("tools/call".into()),
                occurrence: Some(1),
                ..Default::default()
            },
            fault: mcp_harness_chaos::StreamFault::Answer { status: 404 },
        });
        stack
    });
    let url = format!("{}/mcp", stack.base_url());
    let host = || {
        spawn_host(
            &url,
            &["--tool", "long_running", "--arguments", r#"{"steps": 5}"#],
            &token,
        )
    };
    let mut first = host();
    for line in BufReader::new(first.stderr.take().unwrap()).lines() {
        if line.unwrap().starts_with("progress") {
            break;
        }
    }
    first.kill().unwrap();
    let _ = first.wait();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&token).unwrap()).unwrap();
    // initialize (1), the call (2) answered 404, initialize again (3), the call again (4).
    assert_eq!(saved["request_id"], 4, "{saved}");
    let second = host().wait_with_output().unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("resuming call 4"),
        "{}",
        text(&second.stderr)
    );
    assert_eq!(
        text(&second.stdout)
            .matches("result: Completed 5 steps")
            .count(),
        1
    );
    runtime.block_on(async {
        stack.shutdown().await;
        agents.shutdown().await;
    });
}

/// The same Python SDK client over stdio: client-test gives it the command of
/// the scripted server (through `mcp-harness stdio-tap`, which records both
/// directions); the stdio client scenarios run, and it keeps every rule.
#[test]
fn the_python_sdk_client_over_stdio_keeps_every_stdio_rule() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "no {} (hint: run ci/test.sh)",
        python.display()
    );
    let cmd = format!("{} fixtures/python_sdk/client.py", python.display());
    let out = tempfile::tempdir().unwrap();
    let run = harness(&[
        "client-test",
        "--transport",
        "stdio",
        "--client-cmd",
        &cmd,
        "--client-timeout",
        "30s",
        "--format",
        "json",
        "--out",
        out.path().join("report").to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&run.stdout), text(&run.stderr)));
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        serde_json::to_string_pretty(&report).unwrap()
    );
    let ran: Vec<&serde_json::Value> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["skipped"].is_null())
        .collect();
    // travel and research under 2025-11-25 (the version it negotiates).
    assert_eq!(ran.len(), 2, "{report}");
    for case in ran {
        let verdict = |id: &str| {
            case["verdicts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["check"] == id)
                .cloned()
                .unwrap_or_default()
        };
        let stdin = verdict("client.stdin_messages_only");
        assert_eq!(stdin["outcome"]["outcome"], "pass", "{stdin}");
        assert!(stdin["examined"].as_u64().unwrap() >= 3, "{stdin}");
        assert_eq!(verdict("client.completed")["outcome"]["outcome"], "pass");
        let answered = verdict("client.answers_once");
        assert_eq!(answered["outcome"]["outcome"], "pass", "{answered}");
    }
}

/// A stdio client that writes a line that is not a message on the server's
/// stdin (fixtures/stdio/chatty_client.sh) fails client.stdin_messages_only,
/// and no other check.
#[test]
fn a_stdio_client_that_writes_text_on_the_server_s_stdin_fails_only_stdin_messages_only() {
    let run = harness(&[
        "client-test",
        "--transport",
        "stdio",
        "--client-cmd",
        "sh fixtures/stdio/chatty_client.sh",
        "client/travel@2025-11-25",
        "--format",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|_| panic!("{}{}", text(&run.stdout), text(&run.stderr)));
    let case = &report["cases"][0];
    let broken: Vec<&str> = case["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["outcome"]["outcome"].as_str(), Some("fail" | "warn")))
        .filter_map(|v| v["check"].as_str())
        .collect();
    assert_eq!(broken, ["client.stdin_messages_only"], "{case}");
}
