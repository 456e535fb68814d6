//! Every stdio check fails on a real stdio server that breaks its rule and on
//! no other: fixtures/stdio/faulty_stdio.py runs the reference agents' `serve
//! --stdio` behind it and breaks one rule (a banner on stdout, progress
//! pretty-printed over several lines, a process that outlives its stdin),
//! and its control mode (`none`) passes every check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mcp_harness::profile::Profile;
use mcp_harness::run::{Limits, Target, run_case};
use mcp_harness::scenario::load_dir;
use mcp_harness_checks::Outcome;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference agents over stdio behind the fixture in `mode`, and their profile.
fn through_fixture(mode: &str) -> (Target, Profile) {
    let root = root();
    let profile =
        Profile::load(&root.join("fixtures/profiles/reference-agents-stdio.toml")).unwrap();
    let command = format!(
        "python3 {} {mode} -- {} serve --stdio --time-scale 0 --store memory",
        root.join("fixtures/stdio/faulty_stdio.py").display(),
        env!("CARGO_BIN_EXE_mcp-harness")
    );
    (Target::StdioCommand { command }, profile)
}

/// The checks that fail or warn on elicitation/accept (2025-11-25, then
/// 2026-07-28) through the fixture in `mode`.
fn broken_checks(mode: &str) -> BTreeSet<String> {
    let root = root();
    let (scenarios, errors) = load_dir(&root.join("scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let scenario = scenarios
        .iter()
        .find(|s| s.id == "elicitation/accept")
        .unwrap();
    let (target, profile) = through_fixture(mode);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut broken = BTreeSet::new();
    for version in ["2025-11-25", "2026-07-28"] {
        let case = runtime.block_on(run_case(
            scenario,
            version,
            &target,
            &profile,
            Limits::default(),
        ));
        assert!(case.skipped.is_none(), "{mode}: {:?}", case.skipped);
        for verdict in &case.verdicts {
            if matches!(verdict.outcome, Outcome::Fail | Outcome::Warn) {
                broken.insert(format!("{}@{version}", verdict.check));
            }
        }
        let judged = case
            .verdicts
            .iter()
            .find(|v| v.check == "stdio.stdout_messages_only")
            .unwrap();
        assert!(judged.examined > 0, "{mode}@{version}: {judged:?}");
    }
    broken
}

fn both(check: &str) -> BTreeSet<String> {
    ["2025-11-25", "2026-07-28"]
        .iter()
        .map(|v| format!("{check}@{v}"))
        .collect()
}

#[test]
fn the_control_breaks_no_rule() {
    assert_eq!(broken_checks("none"), BTreeSet::new());
}

#[test]
fn a_banner_on_stdout_breaks_only_stdout_messages_only() {
    assert_eq!(broken_checks("banner"), both("stdio.stdout_messages_only"));
}

#[test]
fn a_message_over_several_lines_breaks_only_no_embedded_newlines() {
    assert_eq!(broken_checks("pretty"), both("stdio.no_embedded_newlines"));
}

#[test]
fn a_server_that_outlives_its_stdin_breaks_only_exits_on_stdin_close() {
    assert_eq!(broken_checks("linger"), both("stdio.exits_on_stdin_close"));
}

/// stdin closed mid-call (stdio/close_stdin_mid_call) to a server that stays
/// running and never answers: the harness ends it as the stdio shutdown says,
/// SIGTERM once the exit grace is over, so the case ends well inside its own
/// limit (20 s here, with 60 s for the call) instead of waiting for a result
/// that cannot come.
#[test]
fn stdin_closed_mid_call_to_a_lingering_server_ends_with_sigterm_not_the_call_limit() {
    let root = root();
    let (scenarios, errors) = load_dir(&root.join("scenarios"));
    assert!(errors.is_empty(), "{errors:?}");
    let scenario = scenarios
        .iter()
        .find(|s| s.id == "stdio/close_stdin_mid_call")
        .unwrap();
    let (target, profile) = through_fixture("linger");
    let limits = Limits {
        case: std::time::Duration::from_secs(20),
        call: std::time::Duration::from_secs(60),
        ..Limits::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let case = runtime.block_on(run_case(scenario, "2025-11-25", &target, &profile, limits));
    assert!(!case.timed_out && case.error.is_none(), "{:?}", case.error);
    let verdict = case
        .verdicts
        .iter()
        .find(|v| v.check == "stdio.exits_on_stdin_close")
        .unwrap();
    assert_eq!(verdict.outcome, Outcome::Warn, "{verdict:?}");
    let events: Vec<String> = case
        .transcript
        .records
        .iter()
        .filter_map(|r| match &r.event {
            mcp_harness_wire::WireEvent::Process { event, .. } => Some(format!("{event:?}")),
            _ => None,
        })
        .collect();
    let tail: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .skip_while(|e| *e != "StdinClosed")
        .collect();
    assert_eq!(
        tail,
        ["StdinClosed", "Sigterm", "StdoutClosed", "Exited"],
        "{events:?}"
    );
}
