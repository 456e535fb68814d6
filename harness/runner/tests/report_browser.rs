//! report.html in a real browser: Debian's chromium, headless, driven by
//! playwright-core (both installed by ci/test.sh) through
//! ci/browser/check_report.mjs. The report of a failing run of a third-party
//! server (the official Python SDK with its example event store, which replays
//! one session's events to another) loads with no console error and no request
//! leaving the file, has one diagram per case, a click on a finding scrolls to
//! its record, and the outcome filter, the check filter and the search change
//! what is shown. A screenshot of the chaos case is kept under the run's --out
//! (target/report-browser/out/screenshots/). A long case (1,001 records, six
//! pages) opens on its first page, and a finding on a later page still scrolls
//! to its record.

use std::path::{Path, PathBuf};
use std::process::Command;

use mcp_harness_wire::{Body, Delivery, Headers, Record, TRANSCRIPT_FORMAT, TRANSCRIPT_VERSION};
use mcp_harness_wire::{Transcript, WireEvent};
use serde_json::{Value, json};

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Run the browser check on `report`; its JSON result.
fn check_in_chromium(report: &Path, screenshot: Option<(&Path, &str)>) -> Value {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "no {} (hint: run ci/test.sh, or: apt-get install chromium)",
        chromium.display()
    );
    let script = root().join("ci/browser/check_report.mjs");
    assert!(
        root()
            .join("ci/browser/node_modules/playwright-core")
            .exists(),
        "no playwright-core (hint: run ci/test.sh, or: npm ci --prefix ci/browser)"
    );
    let mut command = Command::new("node");
    command.arg(&script).arg(report);
    if let Some((png, case)) = screenshot {
        command.arg(png).arg(case);
    }
    let out = command.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser check failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not the check's JSON ({e}): {stdout}"))
}

/// What every report must show in the browser.
fn assert_clean_and_working(result: &Value) {
    assert_eq!(result["errors"], json!([]), "console errors: {result}");
    assert_eq!(
        result["external"],
        json!([]),
        "requests off the file: {result}"
    );
    assert_eq!(
        result["cases"], result["casesWithOneDiagram"],
        "one diagram per case: {result}"
    );
    let click = &result["findingClick"];
    assert_eq!(click["inView"], json!(true), "{result}");
    assert_eq!(click["detailShown"], json!(true), "{result}");
    let filters = &result["filters"];
    assert_eq!(filters["nonsenseSearch"], json!(0), "{result}");
    assert!(filters["scenarioSearch"].as_u64().unwrap() >= 1, "{result}");
    assert_eq!(filters["onlyFail"], filters["failingInPage"], "{result}");
    assert_eq!(
        filters["check"]["shown"], filters["check"]["expected"],
        "{result}"
    );
}

#[test]
fn a_failing_third_party_run_reads_in_chromium() {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "no {} (hint: run ci/test.sh, which installs the Python SDK)",
        python.display()
    );
    let out = root().join("target/report-browser/out");
    let _ = std::fs::remove_dir_all(&out);
    let command = format!(
        "{} {} --port {{port}} --event-store",
        python.display(),
        root().join("fixtures/python_sdk/server.py").display()
    );
    let run = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .current_dir(root())
        .args(["run", "--server-cmd", &command])
        .args(["--profile", "fixtures/profiles/python-sdk-event-store.toml"])
        .args([
            "streams/resume_foreign_session.progress@2025-11-25",
            "streams/travel_cut_after_progress@2025-11-25",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "the foreign replay fails the run: {stdout}"
    );
    std::fs::create_dir_all(out.join("screenshots")).unwrap();
    let png = out.join("screenshots/streams__travel_cut_after_progress@2025-11-25.png");
    let result = check_in_chromium(
        &out.join("report.html"),
        Some((&png, "streams/travel_cut_after_progress")),
    );
    assert_clean_and_working(&result);
    assert_eq!(result["cases"], json!(2), "{result}");
    assert_eq!(result["filters"]["onlyFail"], json!(1), "{result}");
    assert_eq!(result["filters"]["all"], json!(2), "{result}");
    assert_eq!(result["stories"], json!(2), "both cases were cut: {result}");
    let picture = std::fs::read(&png).unwrap();
    assert!(
        picture.starts_with(b"\x89PNG") && picture.len() > 10_000,
        "a real screenshot"
    );
}

/// A call with 1,000 progress notifications, one of them going backwards at
/// record `bad`.
fn long_call(bad: u64) -> Transcript {
    let mut records = Vec::new();
    let mut push = |event: WireEvent| {
        let seq = records.len() as u64;
        records.push(Record {
            seq,
            at_us: seq * 100,
            event,
        });
    };
    push(WireEvent::Header {
        format: TRANSCRIPT_FORMAT.into(),
        version: TRANSCRIPT_VERSION,
        started_unix_ms: 0,
        target: "http://127.0.0.1:1/mcp".into(),
    });
    let headers = Headers {
        mcp_protocol_version: Some("2025-11-25".into()),
        content_type: Some("application/json".into()),
        ..Headers::default()
    };
    push(WireEvent::Request {
        exchange: 1,
        conn: 1,
        method: "POST".into(),
        path: "/mcp".into(),
        headers: Box::new(headers),
        body: Body::from_json(&json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
            "params":{"name":"long","_meta":{"progressToken":"t"}}})),
    });
    push(WireEvent::Response {
        exchange: 1,
        status: 200,
        headers: Box::new(Headers {
            content_type: Some("text/event-stream".into()),
            ..Headers::default()
        }),
        body: Body::Empty,
        delivery: Delivery::Delivered,
    });
    for n in 1..=1000u64 {
        let progress = if n + 2 == bad { 1 } else { n };
        push(WireEvent::Sse {
            exchange: 1,
            index: n as u32,
            id: Some(n.to_string()),
            event: None,
            retry_ms: None,
            data: Some(Body::from_json(
                &json!({"jsonrpc":"2.0","method":"notifications/progress",
                "params":{"progressToken":"t","progress":progress}}),
            )),
            delivery: Delivery::Delivered,
        });
    }
    Transcript { records }
}

#[test]
fn a_long_case_opens_on_its_first_page_and_a_late_finding_still_scrolls_to_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("long__call@2025-11-25.jsonl");
    std::fs::write(&transcript, long_call(950).to_jsonl()).unwrap();
    let report = dir.path().join("long.html");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .arg("report")
        .arg(&transcript)
        .arg("--output")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = check_in_chromium(&report, None);
    assert_clean_and_working(&result);
    assert_eq!(result["findingClick"]["row"], json!("c0-r950"), "{result}");
    let pager = &result["pager"];
    assert_ne!(pager["before"], pager["after"], "{result}");
    assert!(
        pager["where"].as_str().unwrap().contains("of 1002"),
        "{result}"
    );
}
