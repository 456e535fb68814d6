//! The HTML report's rendering, on stored real transcripts (fixtures/transcripts):
//! its output is an insta snapshot (snapshots/report/), its diagrams show the
//! cut, the withheld events, the kill and the replays where they happened, long
//! cases are paged, hostile bodies cannot break the page, and `mcp-harness
//! report` reads an `--out` folder or a transcript and refuses what it cannot.

use std::path::{Path, PathBuf};
use std::process::Command;

use mcp_harness::html::diagram::{Fate, Kind, Shape};
use mcp_harness::html::{self, PAGE_ROWS};
use mcp_harness::report::{Baseline, Summary};
use mcp_harness::run::CaseResult;
use mcp_harness::stored_run;
use mcp_harness_wire::{Body, Delivery, Record, Transcript, WireEvent};
use serde_json::json;

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/transcripts").join(name)
}

fn stored(name: &str) -> (Vec<CaseResult>, Summary) {
    let client = name.starts_with("reference-host");
    stored_run::read_transcript(&fixture(name), client).unwrap()
}

const FIXTURES: [&str; 4] = [
    "python-sdk__resume_foreign_session@2025-11-25.jsonl",
    "reference__restart_mid_task@2025-11-25.jsonl",
    "reference-stdio__kill_mid_call@2025-11-25.jsonl",
    "reference-host__cut_mid_stream@2025-11-25.jsonl",
];

#[test]
fn each_stored_transcript_renders_as_its_snapshot() {
    for name in FIXTURES {
        let (cases, summary) = stored(name);
        let page = format!(
            "{}{}",
            html::summary_section(&cases, &summary),
            html::case_section(0, &cases[0], &summary)
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root().join("snapshots/report"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(name.trim_end_matches(".jsonl"), page));
    }
}

#[test]
fn a_foreign_replay_on_a_third_party_server_is_drawn_where_it_happened() {
    let (cases, summary) = stored(FIXTURES[0]);
    let diagram = html::case_diagram(&cases[0], &summary);
    let cut = diagram
        .rows
        .iter()
        .filter(|r| r.kind == Kind::Fault && r.label.starts_with("cut"))
        .count();
    assert_eq!(cut, 2, "the planned cut and the cut itself");
    // The event the cut kept from the first session...
    let withheld = diagram
        .rows
        .iter()
        .find(|r| r.kind == Kind::Event && r.fate == Fate::NeverDelivered)
        .expect("a withheld event");
    assert!(matches!(withheld.shape, Shape::Arrow { to, .. } if to == html::diagram::Lane::Proxy));
    // ...is replayed to the other session, linked to its first sending and pinned.
    let leak = diagram
        .rows
        .iter()
        .find(|r| r.fate == Fate::Foreign)
        .expect("a foreign replay");
    assert_eq!(leak.first_sent, Some(withheld.seq));
    assert!(
        leak.pins
            .iter()
            .any(|p| p.check == "stream.replay_own_session_only" && p.outcome == "fail")
    );
    let checks: Vec<&str> = diagram.findings.iter().map(|g| g.check.as_str()).collect();
    assert!(
        checks.contains(&"stream.replay_own_session_only"),
        "{checks:?}"
    );
    let section = html::case_section(0, &cases[0], &summary);
    assert!(section.contains("data-status='FAIL'"));
    assert!(
        section.contains(&format!("↺ other session's #{}", withheld.seq)),
        "the link is labelled"
    );
}

#[test]
fn a_kill_and_the_replay_from_the_database_are_drawn() {
    let (cases, summary) = stored(FIXTURES[1]);
    let diagram = html::case_diagram(&cases[0], &summary);
    assert!(diagram.rows.iter().any(|r| r.kind == Kind::Kill));
    // Withheld before the kill, replayed after the restart.
    let held: Vec<u64> = diagram
        .rows
        .iter()
        .filter(|r| r.fate == Fate::WithheldThenReplayed)
        .map(|r| r.seq)
        .collect();
    assert!(!held.is_empty());
    for seq in &held {
        assert!(
            diagram
                .rows
                .iter()
                .any(|r| r.fate == Fate::Replay && r.first_sent == Some(*seq)),
            "record {seq} is linked from its replay"
        );
    }
    assert!(
        diagram.findings.is_empty(),
        "the reference agents break no rule"
    );
}

#[test]
fn stdio_transcripts_draw_pipes_and_process_events() {
    let (cases, summary) = stored(FIXTURES[2]);
    let diagram = html::case_diagram(&cases[0], &summary);
    assert!(diagram.stdio);
    assert!(diagram.rows.iter().any(|r| r.kind == Kind::Kill));
    assert!(diagram.rows.iter().any(|r| r.kind == Kind::Process));
    let processes: std::collections::BTreeSet<u64> =
        diagram.bands.iter().map(|b| b.number).collect();
    assert!(processes.len() >= 2, "the restart starts process 2");
    assert!(html::case_section(0, &cases[0], &summary).contains("pipes (recorded)"));
}

/// A transcript of one long stream: `events` SSE events, each `body`.
fn long_transcript(events: u64, body: &str) -> Transcript {
    let mut records = vec![Record {
        seq: 0,
        at_us: 0,
        event: WireEvent::Request {
            exchange: 1,
            conn: 1,
            method: "POST".into(),
            path: "/mcp".into(),
            headers: Box::default(),
            body: Body::from_json(
                &json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}),
            ),
        },
    }];
    for seq in 1..=events {
        records.push(Record {
            seq,
            at_us: seq * 10,
            event: WireEvent::Sse {
                exchange: 1,
                index: seq as u32,
                id: Some(seq.to_string()),
                event: None,
                retry_ms: None,
                data: Some(Body::Text { text: body.into() }),
                delivery: Delivery::Delivered,
            },
        });
    }
    Transcript { records }
}

fn case_of(transcript: Transcript) -> (Vec<CaseResult>, Summary) {
    let mut case = CaseResult::new("long/stream", "2025-11-25");
    case.transcript = transcript;
    let cases = vec![case];
    let summary = Summary::of(&cases, &Baseline::default());
    (cases, summary)
}

/// The JSON block of the pages not drawn yet, parsed and unpacked (base64,
/// then gzip, as the page's script does).
fn later_pages(html: &str) -> Vec<String> {
    use base64::Engine;
    use std::io::Read;
    let start = html.find("class='pages'>").expect("a pages block") + "class='pages'>".len();
    let end = start + html[start..].find("</script>").unwrap();
    let packed: Vec<String> = serde_json::from_str(&html[start..end]).unwrap();
    packed
        .iter()
        .map(|page| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(page)
                .unwrap();
            let mut svg = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut svg)
                .unwrap();
            svg
        })
        .collect()
}

#[test]
fn long_cases_are_paged_with_only_the_first_page_drawn() {
    let (cases, summary) = case_of(long_transcript(1000, "x"));
    let section = html::case_section(0, &cases[0], &summary);
    // 1001 records: 6 pages, the first drawn, five waiting.
    assert!(section.contains("data-pages='6'"), "{}", &section[..400]);
    assert_eq!(section.matches("<g class='r").count(), PAGE_ROWS);
    let pages = later_pages(&section);
    assert_eq!(pages.len(), 5);
    assert_eq!(
        pages[4].matches("<g class='r").count(),
        1001 - 5 * PAGE_ROWS
    );
    assert!(
        pages[0].contains("id='c0-r200'"),
        "page 2 starts at record 200"
    );
    assert!(section.contains("data-bounds='0,200,400,600,800,1000'"));
}

#[test]
fn markup_in_bodies_cannot_break_the_page() {
    let hostile = "</script><script>alert(1)</script><!-- '\"&";
    let (cases, summary) = case_of(long_transcript(300, hostile));
    let page = html::render(&cases, &summary);
    // The drawn page escapes it; the waiting pages keep it inside their JSON.
    assert!(!page.contains("<script>alert"));
    let pages = later_pages(&page);
    assert!(
        pages[0].contains("&lt;/script&gt;"),
        "escaped in the SVG text too"
    );
    assert_eq!(
        page.matches("</script>").count(),
        2,
        "the pages block and the page's script"
    );
}

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
}

#[test]
fn the_report_command_draws_a_transcript_or_an_out_folder() {
    let dir = tempfile::tempdir().unwrap();
    // A transcript: judged afresh, written next to it by default.
    let transcript = dir.path().join(FIXTURES[0]);
    std::fs::copy(fixture(FIXTURES[0]), &transcript).unwrap();
    let out = harness().arg("report").arg(&transcript).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(transcript.with_extension("html")).unwrap();
    assert!(page.contains("stream.replay_own_session_only"));
    // An --out folder: report.json and the transcripts beside it.
    let run = dir.path().join("run");
    let out = harness()
        .args(["run", "progress/string_token@2025-11-25", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(run.join("report.html")).unwrap();
    std::fs::remove_file(run.join("report.html")).unwrap();
    let out = harness().arg("report").arg(&run).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let redrawn = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        redrawn == written,
        "a stored run draws as it did when it ran"
    );
    assert!(written.contains("progress/string_token@2025-11-25"));
    assert!(written.contains("<svg class='diagram'"));
}

#[test]
fn the_report_command_refuses_what_it_cannot_read_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = harness()
        .arg("report")
        .arg(dir.path().join("missing.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.jsonl"));
    // A folder whose report.json is not a report.
    std::fs::write(dir.path().join("report.json"), "{\"nope\": 1}").unwrap();
    let out = harness().arg("report").arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("report.json") && stderr.contains("not an mcp-harness report"),
        "{stderr}"
    );
    // A transcript with a bad line names the line.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"seq\": 0}\n{}\n").unwrap();
    let out = harness().arg("report").arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.jsonl") && stderr.contains("line 1"),
        "{stderr}"
    );
    assert!(!dir.path().join("bad.html").exists(), "nothing written");
}
