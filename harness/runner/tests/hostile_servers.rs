//! The harness against 32 hostile servers (fixtures/faulty, `hostile`): each
//! run ends with a failing verdict (a failed check or a case error) within its
//! time limits, its transcript stays bounded, and nothing panics. All run at
//! once, each on its own socket on 127.0.0.1.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcp_harness::profile::Profile;
use mcp_harness::run::{Limits, Target, run_case};
use mcp_harness::scenario::{ScenarioFile, parse};
use mcp_harness_fixtures::hostile::{Hostile, HostileServer};

const SCENARIO: &str = r#"
description = "connect, call the travel agent, expect a booking"
versions = ["2025-11-25"]
[[steps]]
do = "call"
tool = "elicits"
progress_token = "hostile"
expect_text = "booked"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_server_gets_a_failing_verdict_in_bounded_time_and_memory() {
    let path = PathBuf::from("hostile.toml");
    let scenario = ScenarioFile {
        id: "hostile".into(),
        scenario: parse(&path, SCENARIO).unwrap(),
        path,
    };
    let limits = Limits {
        start: Duration::from_secs(5),
        case: Duration::from_secs(20),
        call: Duration::from_secs(4),
        ..Limits::default()
    };
    let runs = Hostile::ALL.iter().map(|kind| {
        let scenario = scenario.clone();
        async move {
            let server = HostileServer::start(*kind).await.unwrap();
            let started = Instant::now();
            let case = tokio::spawn(async move {
                let target = Target::Url(server.url());
                let case = run_case(
                    &scenario,
                    "2025-11-25",
                    &target,
                    &Profile::reference_agents(),
                    limits,
                )
                .await;
                drop(server);
                case
            })
            .await;
            (*kind, case, started.elapsed())
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut problems = Vec::new();
    for (kind, case, elapsed) in results {
        let case = match case {
            Ok(case) => case,
            Err(panic) => {
                problems.push(format!("{kind:?}: the harness panicked: {panic}"));
                continue;
            }
        };
        if !case.failed() {
            problems.push(format!("{kind:?}: no failing verdict: {:?}", case.steps));
        }
        // The case limit, plus set-up and tear-down.
        if elapsed > Duration::from_secs(40) {
            problems.push(format!("{kind:?}: took {elapsed:?}"));
        }
        let size = case.transcript.to_jsonl().len();
        // The runner keeps at most 100,000 records or 32 MB of payload per case.
        if size > 48 << 20 {
            problems.push(format!("{kind:?}: transcript of {size} bytes"));
        }
        eprintln!(
            "{kind:?}: {:.1}s, transcript {} KB, error {:?}, failed checks {:?}",
            elapsed.as_secs_f64(),
            size / 1024,
            case.error,
            case.verdicts
                .iter()
                .filter(|v| v.outcome == mcp_harness_checks::Outcome::Fail)
                .map(|v| v.check.as_str())
                .collect::<Vec<_>>()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Programs that are no MCP server, started over stdio: one that echoes
/// every line back (so each request comes back as the server's request, and
/// the client's answers as the server's answers), one that floods its stdout,
/// one that exits at once and one that never writes. Each case fails (a case
/// error or a failed check), in bounded time, with a bounded transcript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_that_are_no_mcp_server_over_stdio_get_a_failing_verdict() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (scenarios, errors) = mcp_harness::scenario::load_dir(&root.join("scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let ping = scenarios
        .iter()
        .find(|s| s.id == "utilities/ping")
        .unwrap()
        .clone();
    let limits = Limits {
        start: Duration::from_secs(5),
        case: Duration::from_secs(20),
        call: Duration::from_secs(4),
        ..Limits::default()
    };
    let mut problems = Vec::new();
    for command in ["cat", "yes", "true", "sleep 60"] {
        let started = Instant::now();
        let scenario = ping.clone();
        let case = tokio::spawn(async move {
            let target = Target::StdioCommand {
                command: command.to_owned(),
            };
            run_case(
                &scenario,
                "2025-11-25",
                &target,
                &Profile::reference_agents(),
                limits,
            )
            .await
        })
        .await;
        let elapsed = started.elapsed();
        let case = match case {
            Ok(case) => case,
            Err(panic) => {
                problems.push(format!("{command}: the harness panicked: {panic}"));
                continue;
            }
        };
        if !case.failed() {
            problems.push(format!(
                "{command}: no failing verdict: {:?} {:?}",
                case.error, case.steps
            ));
        }
        if elapsed > Duration::from_secs(40) {
            problems.push(format!("{command}: took {elapsed:?}"));
        }
        let size = case.transcript.to_jsonl().len();
        if size > 48 << 20 {
            problems.push(format!("{command}: transcript of {size} bytes"));
        }
        eprintln!(
            "{command}: {:.1}s, transcript {} KB, error {:?}",
            elapsed.as_secs_f64(),
            size / 1024,
            case.error
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
