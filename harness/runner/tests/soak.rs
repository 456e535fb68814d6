//! Soak: 1,000 concurrent sessions through the recording chaos proxy against the
//! reference agents (a real process on an SQLite file), with random stream
//! cuts the clients resume from, and two SIGKILL restarts of the server in the
//! middle. The whole run is judged by the checks on the proxy's transcript.
//!
//! Heavy, so ignored by default. Run it (SOAK_SESSIONS to change the count):
//!   cargo test --release -p mcp-harness --test soak -- --ignored --nocapture
//!
//! It reports wall time, peak memory of the harness and of the server, and the
//! counts: duplicates (stream.no_duplicate_event + stream.no_duplicate_message
//! findings), gaps (stream.nothing_lost findings), lost results
//! (response.exactly_once findings), all of which must be 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_harness::client::{NoHooks, ScriptedClient};
use mcp_harness::scenario::ClientSpec;
use mcp_harness_chaos::{
    ChaosStack, FaultRule, RecordLimits, StackConfig, StreamFault, StreamSelector, TargetProcess,
};
use mcp_harness_checks::Outcome;
use serde_json::json;
use tokio::sync::Mutex;

/// Peak resident memory of a process, from /proc (kB).
fn peak_rss_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: 1,000 sessions; run with --ignored (see the module doc)"]
async fn a_thousand_sessions_with_cuts_and_two_restarts() {
    let sessions: u32 = std::env::var("SOAK_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("agents.db");
    let command = format!(
        "{} serve --listen 127.0.0.1:{{port}} --time-scale 0.02 --input-timeout 5s --store {}",
        env!("CARGO_BIN_EXE_mcp-harness"),
        store.display()
    );
    let server = TargetProcess::start(&command, None, Duration::from_secs(30))
        .await
        .expect("the reference agents start");
    let base = format!("http://127.0.0.1:{}", server.port());
    let mut config = StackConfig::new(&base);
    config.record_limits = RecordLimits {
        max_records: 10_000_000,
        max_bytes: 4 << 30,
    };
    let stack = ChaosStack::start(config).await.unwrap();
    // One call in three is cut, after 1 to 6 events.
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut cut = 0;
    for occurrence in 1..=sessions {
        if next(3) == 0 {
            cut += 1;
            stack.add_fault(FaultRule {
                select: StreamSelector {
                    rpc_method: Some("tools/call".into()),
                    occurrence: Some(occurrence),
                    ..StreamSelector::default()
                },
                fault: StreamFault::Cut {
                    after: 1 + next(6) as u32,
                },
            });
        }
    }
    let server = Arc::new(Mutex::new(server));
    let url = format!("{}/mcp", stack.base_url());
    let started = Instant::now();
    let spec = ClientSpec {
        max_resumes: 5,
        resume_delay_ms: 100,
        ..ClientSpec::default()
    };
    let clients = (0..sessions).map(|n| {
        let url = url.clone();
        let spec = spec.clone();
        tokio::spawn(async move {
            // Spread the starts over the first second.
            tokio::time::sleep(Duration::from_millis(u64::from(n) % 1000)).await;
            let mut client = ScriptedClient::new(&url, "2025-11-25", spec, json!({}));
            client.set_call_limit(Duration::from_secs(60));
            // A session that starts while the server restarts tries again, as a
            // real client would.
            let mut attempt = 0;
            while let Err(e) = client.connect().await {
                attempt += 1;
                if attempt == 30 {
                    return Err(format!("session {n}: {e}"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            client
                .call(
                    "long_running_agent",
                    &json!({"steps": 5}),
                    Some(&json!(format!("soak-{n}"))),
                    &mut NoHooks,
                )
                .await
                .map_err(|e| format!("session {n}: {e}"))
        })
    });
    let clients: Vec<_> = clients.collect();
    let mut server_peak_kb = 0;
    let restarts = {
        let server = server.clone();
        let recorder = stack.recorder().clone();
        tokio::spawn(async move {
            let mut peaks = Vec::new();
            // While sessions are still starting and calls are in flight.
            for pause in [500u64, 500] {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let mut server = server.lock().await;
                if let Some(pid) = server.pid() {
                    peaks.push(peak_rss_kb(&pid.to_string()));
                }
                // In the transcript, so the checks know requests in flight died with it.
                recorder.fault(
                    mcp_harness_wire::FaultMark::fired(None, None),
                    &mcp_harness_wire::Fault::Process {
                        fault: mcp_harness_wire::ProcessFault::Kill,
                    },
                    "soak: server SIGKILLed and restarted",
                );
                server
                    .restart(Duration::from_secs(30))
                    .await
                    .expect("restart");
            }
            peaks
        })
    };
    let outcomes = futures::future::join_all(clients).await;
    for peak in restarts.await.unwrap() {
        server_peak_kb = server_peak_kb.max(peak);
    }
    if let Some(pid) = server.lock().await.pid() {
        server_peak_kb = server_peak_kb.max(peak_rss_kb(&pid.to_string()));
    }
    let wall = started.elapsed();
    let (mut results, mut gave_up, mut errors) = (0, 0, Vec::new());
    let mut reasons: std::collections::BTreeMap<String, u32> = Default::default();
    for outcome in outcomes {
        match outcome {
            Ok(Ok(call)) if call.result.is_some() => results += 1,
            Ok(Ok(call)) => {
                gave_up += 1;
                let why = call
                    .gave_up
                    .or(call.error.map(|e| e.to_string()))
                    .unwrap_or_default();
                *reasons
                    .entry(why.chars().take(60).collect::<String>())
                    .or_insert(0) += 1;
            }
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("client task: {e}")),
        }
    }
    let transcript = stack.recorder().transcript();
    let verdicts = mcp_harness_checks::judge(&transcript);
    let findings = |ids: &[&str]| -> usize {
        verdicts
            .iter()
            .filter(|v| ids.contains(&v.check.as_str()))
            .map(|v| v.findings.len())
            .sum()
    };
    let duplicates = findings(&["stream.no_duplicate_event", "stream.no_duplicate_message"]);
    let gaps = findings(&["stream.nothing_lost"]);
    let lost = findings(&["response.exactly_once"]);
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Fail)
        .map(|v| {
            format!(
                "{}: {:?}",
                v.check,
                v.findings.iter().take(3).collect::<Vec<_>>()
            )
        })
        .collect();
    eprintln!(
        "{sessions} sessions, {cut} cut, 2 SIGKILL restarts: wall {:.1}s; {results} results, \
         {gave_up} calls without a result (refused while the server was down, or interrupted by a restart: see the reasons below), {} errors; \
         {} records; duplicates {duplicates}, gaps {gaps}, lost results {lost}; \
         peak RSS harness {} MB, server {} MB",
        wall.as_secs_f64(),
        errors.len(),
        transcript.records.len(),
        peak_rss_kb("self") / 1024,
        server_peak_kb / 1024,
    );
    eprintln!("calls without a result, by reason: {reasons:?}");
    stack.shutdown().await;
    assert!(errors.is_empty(), "{:?}", &errors[..errors.len().min(5)]);
    assert_eq!((duplicates, gaps, lost), (0, 0, 0), "{failed:?}");
    assert!(failed.is_empty(), "{failed:?}");
    assert!(wall < Duration::from_secs(300), "bounded in time");
}
