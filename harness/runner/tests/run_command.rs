//! `mcp-harness run` end to end: reports and their formats, exit codes, the
//! expected-failures baseline, malformed scenario files, a target that fails.

use std::path::Path;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_passing_run_writes_json_junit_and_transcripts() {
    let out = tempfile::tempdir().unwrap();
    let run = harness(&[
        "run",
        "elicitation/accept",
        "streams/travel_cut_after_progress",
        "--version",
        "2025-11-25",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["format"], "mcp-harness-report");
    assert_eq!(report["version"], 1);
    assert_eq!(report["cases"].as_array().unwrap().len(), 2);
    assert_eq!(report["summary"]["failed_cases"], serde_json::json!([]));
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("testcase") && junit.contains("elicitation/accept@2025-11-25"),
        "{junit}"
    );
    let transcripts: Vec<_> = std::fs::read_dir(out.path().join("transcripts"))
        .unwrap()
        .collect();
    assert_eq!(transcripts.len(), 2);
    // A stored transcript re-judges the same way.
    let stored = out
        .path()
        .join("transcripts")
        .join("streams__travel_cut_after_progress@2025-11-25.jsonl");
    let check = harness(&["check", stored.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
    assert!(
        text(&check.stdout).contains("pass          stream.replay_same_stream_only"),
        "{}",
        text(&check.stdout)
    );
}

#[test]
fn a_failing_target_exits_1_and_a_baseline_can_expect_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("origin.toml"),
        "description = \"foreign origin\"\nversions = [\"2025-06-18\"]\n[[steps]]\ndo = \"raw\"\nsession = \"none\"\nheaders = { \"Origin\" = \"https://evil.example\" }\nbody = { jsonrpc = \"2.0\", id = 1, method = \"tools/list\" }\nexpect_status = 403\n",
    )
    .unwrap();
    // A plain file server is no MCP server: it cannot even start a session.
    let cmd = "python3 -m http.server {port} --bind 127.0.0.1";
    let scenarios = dir.path().to_str().unwrap();
    let run = harness(&[
        "run",
        "--scenarios",
        scenarios,
        "--server-cmd",
        cmd,
        "--format",
        "junit",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    assert!(
        text(&run.stdout).contains("<failure"),
        "{}",
        text(&run.stdout)
    );

    let human = harness(&["run", "--scenarios", scenarios, "--server-cmd", cmd]);
    assert!(
        text(&human.stdout).contains("FAIL origin@2025-06-18"),
        "{}",
        text(&human.stdout)
    );
    assert!(
        text(&human.stdout).contains("could not start a session"),
        "{}",
        text(&human.stdout)
    );
}

#[test]
fn expected_failures_turn_a_known_failure_green_and_report_fixed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("expected.txt");
    std::fs::write(
        &baseline,
        "elicitation/accept@2025-06-18 progress.increasing  # pretend it was broken\n",
    )
    .unwrap();
    let run = harness(&[
        "run",
        "elicitation/accept",
        "--version",
        "2025-06-18",
        "--expected-failures",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0));
    assert!(
        text(&run.stdout).contains("is listed as an expected failure but passed"),
        "{}",
        text(&run.stdout)
    );
    std::fs::write(&baseline, "nonsense\n").unwrap();
    let bad = harness(&["run", "--expected-failures", baseline.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("line 1"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn bad_usage_is_exit_2_with_a_hint() {
    let remote = harness(&["run", "--server-url", "http://192.0.2.10:8000/mcp"]);
    assert_eq!(remote.status.code(), Some(2));
    assert!(text(&remote.stderr).contains("--allow-non-loopback"));
    let no_port = harness(&["run", "--server-cmd", "python server.py"]);
    assert_eq!(no_port.status.code(), Some(2));
    assert!(text(&no_port.stderr).contains("{port}"));
    let nothing = harness(&["run", "no-such-scenario"]);
    assert_eq!(nothing.status.code(), Some(2));
    let address = harness(&["run", "http://127.0.0.1:9/mcp"]);
    assert_eq!(address.status.code(), Some(2));
    assert!(
        text(&address.stderr).contains("hint: --server-url http://127.0.0.1:9/mcp"),
        "{}",
        text(&address.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "description = \"x\"\nversions = [\"2025-06-18\"]\n[[steps]]\ndo = \"teleport\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("fine.toml"),
        "description = \"x\"\nversions = [\"2025-06-18\"]\n[[steps]]\ndo = \"wait\"\nms = 1\n",
    )
    .unwrap();
    let broken = harness(&["run", "--scenarios", dir.path().to_str().unwrap()]);
    assert_eq!(
        broken.status.code(),
        Some(2),
        "a malformed file is a configuration error"
    );
    assert!(
        text(&broken.stderr).contains("broken.toml:4"),
        "{}",
        text(&broken.stderr)
    );
    assert!(
        text(&broken.stdout).contains("PASS fine@2025-06-18"),
        "the rest still run: {}",
        text(&broken.stdout)
    );
}

#[test]
fn an_old_fault_form_still_runs_with_a_note_and_a_new_one_in_its_place_runs_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let old = "description = \"x\"\nversions = [\"2025-11-25\"]\nneeds = [\"progress\"]\n[[steps]]\ndo = \"network\"\nup = false\n[[steps]]\ndo = \"call\"\ntool = \"progress\"\nexpect = \"no_result\"\n[[steps]]\ndo = \"network\"\nup = true\n[[steps]]\ndo = \"call\"\ntool = \"progress\"\n";
    let new = "description = \"x\"\nversions = [\"2025-11-25\"]\nneeds = [\"progress\"]\n[[faults]]\nfault = \"network_down\"\nfrom_step = 1\nuntil_step = 2\n[[steps]]\ndo = \"call\"\ntool = \"progress\"\nexpect = \"no_result\"\n[[steps]]\ndo = \"call\"\ntool = \"progress\"\n";
    std::fs::write(dir.path().join("old.toml"), old).unwrap();
    std::fs::write(dir.path().join("new.toml"), new).unwrap();
    let run = harness(&["run", "--scenarios", dir.path().to_str().unwrap()]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS old@2025-11-25"), "{stdout}");
    assert!(stdout.contains("PASS new@2025-11-25"), "{stdout}");
    assert!(
        stderr.contains("old.toml: the `network` step is deprecated"),
        "{stderr}"
    );
    assert!(!stderr.contains("new.toml"), "{stderr}");
}

#[test]
fn a_fault_on_a_tool_no_call_makes_is_an_error_naming_the_file_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let select = |tool: &str| {
        format!(
            "description = \"x\"\nversions = [\"2025-11-25\"]\nneeds = [\"elicits\"]\n\n[[faults]]\nfault = \"cut\"\nafter = 2\nselect = {{ tool = \"{tool}\" }}\n\n[[steps]]\ndo = \"call\"\ntool = \"elicits\"\n"
        )
    };
    // Another server's tool name: with the reference agents the fault could never fire.
    std::fs::write(dir.path().join("elsewhere.toml"), select("book_trip")).unwrap();
    // The tool the profile binds to the role the call names: it fires.
    std::fs::write(dir.path().join("bound.toml"), select("travel_agent")).unwrap();
    let run = harness(&["run", "--scenarios", dir.path().to_str().unwrap()]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("elsewhere.toml:5:1: `faults` entry 1 (`cut`) selects tool `book_trip`"),
        "{stderr}"
    );
    assert!(stderr.contains("it calls `travel_agent`"), "{stderr}");
    assert!(!stdout.contains("elsewhere@"), "{stdout}");
    assert!(stdout.contains("bound@2025-11-25"), "{stdout}");
}

#[test]
fn a_case_over_its_time_limit_fails_and_keeps_its_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    std::fs::write(
        scenarios.join("stuck.toml"),
        "description = \"a stream that stalls far longer than the case may take\"\nversions = [\"2025-11-25\"]\nneeds = [\"long_running\"]\n[[faults]]\nfault = \"stall\"\nafter = 1\nms = 60000\nselect = { rpc_method = \"tools/call\" }\n[[steps]]\ndo = \"call\"\ntool = \"long_running\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let run = harness(&[
        "run",
        "--scenarios",
        scenarios.to_str().unwrap(),
        "--case-timeout",
        "3s",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "the case limit bounds the run"
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let error = report["cases"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("did not finish within 3s"), "{report}");
    let transcript =
        std::fs::read_to_string(out.join("transcripts").join("stuck@2025-11-25.jsonl")).unwrap();
    assert!(
        transcript.contains("\"stall\"") && transcript.contains("tools/call"),
        "the transcript up to the limit is kept: {transcript}"
    );
}

#[test]
fn the_committed_scenario_schema_is_up_to_date() {
    let schema = harness(&["schema"]);
    assert_eq!(schema.status.code(), Some(0));
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/scenario.schema.json"),
    )
    .unwrap();
    assert!(
        text(&schema.stdout) == committed,
        "scenarios/scenario.schema.json is stale: run `cargo run -p mcp-harness -- schema > scenarios/scenario.schema.json`"
    );
}

#[test]
fn explore_finds_no_failure_in_the_reference_agents() {
    let out = tempfile::tempdir().unwrap();
    let run = harness(&[
        "explore",
        "--cases",
        "8",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(text(&run.stdout).contains("no check failed in 8 fault schedules"));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn explore_writes_a_minimal_failing_scenario_that_reproduces_it() {
    let out = tempfile::tempdir().unwrap();
    // A plain file server is no MCP server: every schedule fails.
    let cmd = "python3 -m http.server {port} --bind 127.0.0.1";
    let run = harness(&[
        "explore",
        "--server-cmd",
        cmd,
        "--profile",
        "fixtures/profiles/python-sdk.toml",
        "--cases",
        "4",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    // In the folder of its spec area, as a scenario of the repo would be.
    let files: Vec<_> = std::fs::read_dir(out.path().join("streams"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}", text(&run.stdout));
    let written = std::fs::read_to_string(&files[0]).unwrap();
    assert!(written.contains("could not start a session"), "{written}");
    // Shrunk: no faults or toxics are needed to fail.
    assert!(!written.contains("[[faults]]"), "{written}");
    // The file is an ordinary scenario that reproduces the failure.
    let rerun = harness(&[
        "run",
        "--scenarios",
        out.path().to_str().unwrap(),
        "--server-cmd",
        cmd,
        "--profile",
        "fixtures/profiles/python-sdk.toml",
    ]);
    assert_eq!(rerun.status.code(), Some(1), "{}", text(&rerun.stdout));
    assert!(
        text(&rerun.stdout).contains("could not start a session"),
        "{}",
        text(&rerun.stdout)
    );
    // Without a profile there is nothing to drive: a usage error, not a pass.
    let unprofiled = harness(&["explore", "--server-cmd", cmd, "--cases", "1"]);
    assert_eq!(unprofiled.status.code(), Some(2));
    assert!(text(&unprofiled.stderr).contains("--profile"));
}

/// `run --out` writes each case's transcript as it happens: a run killed with
/// SIGKILL in the middle of a case leaves a file that reads back, with the
/// call it had made.
#[test]
fn a_run_killed_with_sigkill_mid_case_leaves_its_transcript() {
    let scenarios = tempfile::tempdir().unwrap();
    std::fs::write(
        scenarios.path().join("slow.toml"),
        "description = \"a call, then a long wait\"\nversions = [\"2025-11-25\"]\n\
         [[steps]]\ndo = \"call\"\ntool = \"progress\"\nprogress_token = \"t\"\n\
         [[steps]]\ndo = \"wait\"\nms = 120000\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args(["run", "--scenarios"])
        .arg(scenarios.path())
        .arg("--out")
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let file = out.path().join("transcripts/slow@2025-11-25.jsonl");
    // The call's response in the file while the case still waits.
    let answered = |text: &str| {
        mcp_harness_wire::Transcript::from_jsonl(text).is_ok_and(|t| {
            t.records.iter().any(|r| {
                matches!(&r.event, mcp_harness_wire::WireEvent::Sse { data: Some(data), .. }
                    if data.json().is_some_and(|m| m["id"] == 2 && m.get("result").is_some()))
            })
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !answered(&std::fs::read_to_string(&file).unwrap_or_default()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the running case never wrote its call to {}",
            file.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = child.wait();
    let text = std::fs::read_to_string(&file).unwrap();
    let transcript = mcp_harness_wire::Transcript::from_jsonl(&text).unwrap();
    assert!(answered(&text));
    assert!(
        transcript.records.iter().any(|r| matches!(&r.event,
            mcp_harness_wire::WireEvent::Note { text } if text.contains("scenario slow under 2025-11-25"))),
        "the file starts at the case's beginning"
    );
    assert!(
        !out.path().join("report.json").exists(),
        "killed before the end: no report"
    );
}

/// A TCP server on 127.0.0.1 that answers its first `answered` connections
/// with a JSON-RPC result and then accepts every connection and never answers.
fn goes_silent_after(answered: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            if n < answered {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let body = r#"{"jsonrpc":"2.0","id":0,"result":{}}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            } else {
                held.push(stream);
            }
        }
    });
    url
}

#[test]
fn a_target_that_never_answers_fails_every_case_at_once_with_its_cause() {
    let url = goes_silent_after(0);
    let started = std::time::Instant::now();
    let run = harness(&[
        "run",
        "--server-url",
        &url,
        "--start-timeout",
        "2s",
        "--format",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("did not answer within 2s") && stderr.contains("every case fails"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() > 100, "every built-in case is reported");
    assert!(cases.iter().all(|c| {
        c["error"]
            .as_str()
            .is_some_and(|e| e.contains("pre-flight"))
    }));
    // Bounded by the pre-flight, not by the cases' own time limits.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_target_that_goes_silent_mid_run_stops_the_run_after_three_cases() {
    let url = goes_silent_after(1);
    let limits = ["--call-timeout", "1s", "--case-timeout", "3s", "-j", "1"];
    let mut args = vec!["run", "--server-url", &url, "sessions/", "--format", "json"];
    args.extend(limits);
    let run = harness(&args);
    assert_eq!(run.status.code(), Some(1));
    let stderr = text(&run.stderr);
    // Which case that is depends on the order the cases start in (longest
    // first): at least the third.
    let at: usize = stderr
        .split("stopped answering at case ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(at >= 3, "{stderr}");
    let stopped_here = format!("stopped answering at case {at}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let errors: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["error"].as_str().unwrap_or(""))
        .collect();
    // `at` cases ran (the report keeps the files' order); the others were
    // not run.
    assert!(errors.len() > at, "{errors:?}");
    let stopped = errors.iter().filter(|e| e.contains(&stopped_here)).count();
    assert_eq!(stopped, errors.len() - at, "{errors:?}");
    // --keep-going runs every case.
    let url = goes_silent_after(1);
    let mut args = vec![
        "run",
        "--server-url",
        &url,
        "sessions/unknown_id",
        "sessions/missing_id",
        "--keep-going",
        "--format",
        "json",
    ];
    args.extend(limits);
    let run = harness(&args);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    assert!(
        cases.iter().all(|c| !c["error"]
            .as_str()
            .unwrap_or("")
            .contains("stopped answering")),
        "{cases:?}"
    );
}

/// Each case's line is printed the moment the case ends, not at the end of
/// the run.
#[test]
fn each_case_is_reported_as_soon_as_it_ends() {
    use std::io::{BufRead, BufReader};
    let scenarios = tempfile::tempdir().unwrap();
    std::fs::write(
        scenarios.path().join("a_quick.toml"),
        "description = \"quick\"\nversions = [\"2025-11-25\"]\n[[steps]]\ndo = \"wait\"\nms = 1\n",
    )
    .unwrap();
    std::fs::write(
        scenarios.path().join("b_slow.toml"),
        "description = \"slow\"\nversions = [\"2025-11-25\"]\n[[steps]]\ndo = \"wait\"\nms = 120000\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        // Two at once: the slow case starts first (longest first), the
        // quick one ends while it waits.
        .args(["run", "-j", "2", "--scenarios"])
        .arg(scenarios.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(std::time::Duration::from_secs(60));
    // The slow case is still waiting: the run is not over.
    let running = child.try_wait().unwrap().is_none();
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = child.wait();
    assert_eq!(first.as_deref(), Ok("PASS a_quick@2025-11-25"));
    assert!(running, "the line came before the run ended");
}

/// The binary carries its scenarios: a copy run from an empty folder, far from
/// any checkout, runs the built-in cases, lists them, exports them, and runs
/// the exported files.
#[test]
fn a_copied_binary_runs_its_built_in_scenarios_from_an_empty_folder() {
    let home = tempfile::tempdir().unwrap();
    let exe = home.path().join("mcp-harness");
    std::fs::copy(env!("CARGO_BIN_EXE_mcp-harness"), &exe).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let in_empty = |args: &[&str]| {
        Command::new(&exe)
            .args(args)
            .current_dir(empty.path())
            .output()
            .unwrap()
    };
    let run = in_empty(&["run", "elicitation/accept", "--version", "2025-11-25"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(text(&run.stdout).contains("PASS elicitation/accept@2025-11-25"));
    let list = in_empty(&["scenarios", "list"]);
    assert!(text(&list.stdout).contains("elicitation/accept "));
    assert!(text(&list.stdout).contains("client/travel "));
    let export = in_empty(&["scenarios", "export", "mine"]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    assert!(empty.path().join("mine/elicitation/accept.toml").is_file());
    assert!(empty.path().join("mine/scenario.schema.json").is_file());
    // Exporting again overwrites nothing and says so.
    let again = in_empty(&["scenarios", "export", "mine"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
    // An edited copy replaces the built-in set; another folder adds to it.
    std::fs::write(
        empty.path().join("mine/elicitation/accept.toml"),
        "description = \"edited\"\nversions = [\"2025-11-25\"]\n[[steps]]\ndo = \"wait\"\nms = 1\n",
    )
    .unwrap();
    let edited = in_empty(&["run", "--scenarios", "mine", "elicitation/accept@"]);
    assert_eq!(
        edited.status.code(),
        Some(0),
        "{}{}",
        text(&edited.stdout),
        text(&edited.stderr)
    );
    assert!(text(&edited.stdout).contains("scenario.expectations"));
    std::fs::create_dir(empty.path().join("extra")).unwrap();
    std::fs::write(
        empty.path().join("extra/mine.toml"),
        "description = \"mine\"\nversions = [\"2025-11-25\"]\n[[steps]]\ndo = \"wait\"\nms = 1\n",
    )
    .unwrap();
    let added = in_empty(&[
        "run",
        "--add-scenarios",
        "extra",
        "mine@",
        "elicitation/accept@2025-11",
    ]);
    assert_eq!(
        added.status.code(),
        Some(0),
        "{}{}",
        text(&added.stdout),
        text(&added.stderr)
    );
    assert!(text(&added.stdout).contains("PASS mine@2025-11-25"));
    assert!(text(&added.stdout).contains("PASS elicitation/accept@2025-11-25"));
    // A folder whose file takes a built-in id is refused, naming both.
    std::fs::create_dir_all(empty.path().join("clash/elicitation")).unwrap();
    std::fs::copy(
        empty.path().join("extra/mine.toml"),
        empty.path().join("clash/elicitation/accept.toml"),
    )
    .unwrap();
    let clash = in_empty(&["run", "--add-scenarios", "clash"]);
    assert_eq!(clash.status.code(), Some(2));
    assert!(
        text(&clash.stderr).contains("(built-in)/elicitation/accept.toml"),
        "{}",
        text(&clash.stderr)
    );
}

/// Every subcommand's help teaches by example, one command per line, and a bad
/// value is named in backticks with a hint.
#[test]
fn every_subcommand_shows_examples_line_by_line() {
    for sub in [
        "serve",
        "proxy",
        "run",
        "explore",
        "client-test",
        "host",
        "check",
        "schema",
        "scenarios",
    ] {
        let help = harness(&[sub, "--help"]);
        let help = text(&help.stdout);
        let examples = help
            .lines()
            .filter(|l| l.starts_with(&format!("  mcp-harness {sub}")))
            .count();
        assert!(
            examples >= 1,
            "`{sub} --help` shows no example line:\n{help}"
        );
    }
    let run_help = text(&harness(&["run", "--help"]).stdout);
    assert!(
        run_help
            .lines()
            .filter(|l| l.starts_with("  mcp-harness run"))
            .count()
            >= 4,
        "{run_help}"
    );
    let bad = harness(&["run", "--version", "2020-01-01"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`2020-01-01`") && text(&bad.stderr).contains("hint:"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_transcript_keeps_a_fingerprint_of_each_credential_never_the_credential() {
    let out = tempfile::tempdir().unwrap();
    let run = harness(&[
        "run",
        "tasks/intruder",
        "--format",
        "json",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let verdicts = report["cases"][0]["verdicts"].as_array().unwrap();
    let owner_only = verdicts
        .iter()
        .find(|v| v["check"] == "tasks.owner_only")
        .unwrap();
    assert_eq!(owner_only["outcome"]["outcome"], "pass", "{owner_only}");
    assert_eq!(owner_only["examined"], 3, "{owner_only}");
    let transcript = std::fs::read_to_string(
        out.path()
            .join("transcripts")
            .join("tasks__intruder@2026-07-28.jsonl"),
    )
    .unwrap();
    for token in [
        mcp_harness::client::OWNER_TOKEN,
        mcp_harness::client::INTRUDER_TOKEN,
    ] {
        assert!(!transcript.contains(token), "{token} was recorded");
        let fingerprint = mcp_harness_wire::credential::fingerprint(&format!("Bearer {token}"));
        assert!(transcript.contains(&fingerprint), "no {fingerprint}");
    }
}

#[test]
fn explore_over_stdio_faults_the_pipes_of_the_reference_agents() {
    let out = tempfile::tempdir().unwrap();
    let run = harness(&[
        "explore",
        "--transport",
        "stdio",
        "--cases",
        "6",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}{}", text(&run.stderr));
    // Every schedule ran: none was skipped as a scenario of HTTP only.
    assert!(
        stdout.contains("no check failed in 6 fault schedules (6 asked for)"),
        "{stdout}"
    );
    assert!(
        !text(&run.stderr).contains("skipped"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn explore_over_stdio_shrinks_a_broken_rule_to_a_stdio_scenario_that_reproduces_it() {
    let out = tempfile::tempdir().unwrap();
    // Progress notifications pretty-printed over several lines: no_embedded_newlines fails.
    let cmd = format!(
        "python3 fixtures/stdio/faulty_stdio.py pretty -- {} serve --stdio --time-scale 0 --store memory",
        env!("CARGO_BIN_EXE_mcp-harness")
    );
    let args = |verb: &'static str| {
        vec![
            verb.to_owned(),
            "--transport".into(),
            "stdio".into(),
            "--server-cmd".into(),
            cmd.clone(),
            "--profile".into(),
            "fixtures/profiles/reference-agents-stdio.toml".into(),
        ]
    };
    let mut explore = args("explore");
    explore.extend(["--cases", "4", "--out", out.path().to_str().unwrap()].map(String::from));
    let explore: Vec<&str> = explore.iter().map(String::as_str).collect();
    let run = harness(&explore);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}{}",
        text(&run.stdout),
        text(&run.stderr)
    );
    assert!(
        text(&run.stdout).contains("stdio.no_embedded_newlines"),
        "{}",
        text(&run.stdout)
    );
    let files: Vec<_> = std::fs::read_dir(out.path().join("stdio"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let written = std::fs::read_to_string(&files[0]).unwrap();
    assert!(written.contains("transports = [\"stdio\"]"), "{written}");
    assert!(written.contains("cites = [\"stdio."), "{written}");
    // Shrunk: no pipe fault is needed to break the rule.
    assert!(!written.contains("fault = \"pipe\""), "{written}");
    assert!(!written.contains("close_stdin"), "{written}");
    let mut rerun = args("run");
    rerun.extend(["--scenarios", out.path().to_str().unwrap()].map(String::from));
    let rerun: Vec<&str> = rerun.iter().map(String::as_str).collect();
    let rerun = harness(&rerun);
    assert_eq!(rerun.status.code(), Some(1), "{}", text(&rerun.stdout));
    assert!(
        text(&rerun.stdout).contains("fail: stdio.no_embedded_newlines"),
        "{}",
        text(&rerun.stdout)
    );
}

#[test]
fn explore_refuses_to_report_success_when_every_schedule_was_skipped() {
    let out = tempfile::tempdir().unwrap();
    // mcp 1.x does not speak 2026-07-28: every schedule is skipped.
    let run = harness(&[
        "explore",
        "--server-cmd",
        ".venv/bin/python fixtures/python_sdk/server.py --port {port}",
        "--profile",
        "fixtures/profiles/python-sdk.toml",
        "--version",
        "2026-07-28",
        "--cases",
        "2",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{}{stderr}", text(&run.stdout));
    assert!(stderr.contains("nothing was tested"), "{stderr}");
    assert!(!text(&run.stdout).contains("no check failed"));
}

/// A stdio command that is no server (it exits at once): every case fails at
/// once, with what happened and a hint in stdio's terms, not HTTP's.
#[test]
fn a_stdio_command_that_exits_at_once_fails_every_case_with_a_stdio_hint() {
    let run = harness(&[
        "run",
        "utilities/ping@2025-11-25",
        "--transport",
        "stdio",
        "--server-cmd",
        "true",
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`true` closed its stdout without answering"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: does the command speak MCP on its stdin and stdout?"),
        "{stderr}"
    );
    assert!(!stderr.contains("on that URL"), "{stderr}");
}

/// Scenario folders are named by spec area now; a filter and a baseline line
/// written with a former id still find their scenario, and say its new id.
#[test]
fn a_former_scenario_id_still_finds_its_scenario_and_says_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("known.txt");
    std::fs::write(
        &baseline,
        "travel/accept@2025-11-25 progress.increasing  # old id\n",
    )
    .unwrap();
    let run = harness(&[
        "run",
        "travel/accept@2025-11-25",
        "--expected-failures",
        baseline.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("PASS elicitation/accept@2025-11-25"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: the filter `travel/accept@2025-11-25` names scenarios by a former id (`travel/accept@2025-11-25` is now `elicitation/accept@2025-11-25`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "line 1: `travel/accept@2025-11-25` is a former id, now `elicitation/accept@2025-11-25`"
        ),
        "{stderr}"
    );
    // The line found the case under its new id: the case kept the check, so
    // the line is reported as fixed, as written.
    assert!(
        stdout.contains("travel/accept@2025-11-25 progress.increasing"),
        "{stdout}"
    );
}
