//! A real third-party server in the suite: fixtures/python_sdk/server.py, written
//! with the official Python SDK (installed into .venv by ci/test.sh), run through
//! every scenario with its target profile. Its known deviations are kept in an
//! expected-failures baseline with reasons; anything else failing fails this test.

use std::path::Path;
use std::process::Command;

#[test]
fn the_python_sdk_server_passes_all_but_its_recorded_deviations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "no {} (hint: run ci/test.sh, or: python3 -m venv .venv && .venv/bin/pip install 'mcp==1.30.0')",
        python.display()
    );
    let command = format!(
        "{} fixtures/python_sdk/server.py --port {{port}}",
        python.display()
    );
    let run = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .current_dir(&root)
        .args([
            "run",
            "--jobs",
            "2",
            "--call-timeout",
            "3s",
            "--server-cmd",
            &command,
        ])
        .args(["--profile", "fixtures/profiles/python-sdk.toml"])
        .args([
            "--expected-failures",
            "fixtures/profiles/python-sdk.expected-failures.txt",
        ])
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
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.contains(" 0 failed"), "{summary}");
}
