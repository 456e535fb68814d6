//! Running `mcp-harness run` against a third-party server of the suite (one we
//! did not write, built on an official SDK) with its profile and its baseline of
//! known deviations: nothing else may fail or warn, and the baseline may name
//! no check that now passes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Cases at once in a third-party run (`--jobs`): four of these tests run
/// beside the rest of the suite on two cores.
pub const JOBS: usize = 2;

/// Run `scenarios` (all when empty) against the server `command` starts
/// (`{port}` is the port to listen on), judged with `profile` and `baseline`.
/// With `every_warning_listed`, a warning the baseline does not list fails too
/// (off only where the baseline's header says which warnings depend on timing).
pub fn run_against(
    command: &str,
    scenarios: &[&str],
    profile: &str,
    baseline: &str,
    every_warning_listed: bool,
) {
    run_with_jobs(
        JOBS,
        command,
        scenarios,
        profile,
        baseline,
        every_warning_listed,
    );
}

/// [`run_against`] with `jobs` cases at once.
pub fn run_with_jobs(
    jobs: usize,
    command: &str,
    scenarios: &[&str],
    profile: &str,
    baseline: &str,
    every_warning_listed: bool,
) {
    let jobs = jobs.to_string();
    let run = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .current_dir(root())
        .arg("run")
        .args(scenarios)
        .args([
            "--jobs",
            &jobs,
            "--call-timeout",
            "3s",
            "--server-cmd",
            command,
        ])
        .args(["--profile", profile])
        .args(["--expected-failures", baseline])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        !stdout.contains("is listed as an expected failure but passed"),
        "the baseline is stale:\n{stdout}"
    );
    assert!(
        !every_warning_listed || !stdout.contains("is not in the baseline"),
        "a warning is not in the baseline:\n{stdout}"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.contains(" 0 failed"), "{summary}");
}
