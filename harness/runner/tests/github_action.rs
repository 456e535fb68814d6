//! The composite GitHub Action (ci/action): its run step, run as the action
//! runs it (inputs in INPUT_* variables, outputs to $GITHUB_OUTPUT), against
//! the reference agents and against a target that fails.

use std::path::Path;
use std::process::Command;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run ci/action/run.sh with `inputs`; its exit code and its step outputs.
fn run_action(inputs: &[(&str, &str)]) -> (Option<i32>, String, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let outputs = work.path().join("github_output");
    let mut command = Command::new("bash");
    command
        .arg(root().join("ci/action/run.sh"))
        .current_dir(work.path())
        .env("MCP_HARNESS_BIN", env!("CARGO_BIN_EXE_mcp-harness"))
        .env("GITHUB_OUTPUT", &outputs);
    for (name, value) in inputs {
        command.env(name, value);
    }
    let run = command.output().unwrap();
    let text = std::fs::read_to_string(&outputs).unwrap_or_default();
    (run.status.code(), text, work)
}

#[test]
fn the_action_reports_paths_and_counts_and_passes_the_exit_code_on() {
    let (code, outputs, work) = run_action(&[
        (
            "INPUT_ARGS",
            "elicitation/accept@2025-11-25 'elicitation/decline@2025-11-25'",
        ),
        ("INPUT_OUT", "report"),
    ]);
    assert_eq!(code, Some(0), "{outputs}");
    for line in [
        "out=report",
        "report-json=report/report.json",
        "junit=report/junit.xml",
        "exit-code=0",
        "cases=2",
        "failed=0",
        "lost=0",
    ] {
        assert!(outputs.lines().any(|l| l == line), "{line} in {outputs}");
    }
    assert!(work.path().join("report/junit.xml").is_file());

    // A target that cannot even start a session: exit 1, counted.
    let (code, outputs, _work) = run_action(&[
        (
            "INPUT_SERVER_CMD",
            "python3 -m http.server {port} --bind 127.0.0.1",
        ),
        ("INPUT_ARGS", "sessions/unknown_id@2025-11-25"),
    ]);
    assert_eq!(code, Some(1), "{outputs}");
    assert!(outputs.lines().any(|l| l == "failed=1"), "{outputs}");
    assert!(outputs.lines().any(|l| l == "exit-code=1"), "{outputs}");
}

#[test]
fn the_action_file_names_every_input_the_run_step_reads() {
    let action = std::fs::read_to_string(root().join("ci/action/action.yml")).unwrap();
    let script = std::fs::read_to_string(root().join("ci/action/run.sh")).unwrap();
    for input in [
        "server-cmd",
        "server-url",
        "profile",
        "expected-failures",
        "out",
        "args",
    ] {
        let variable = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        assert!(action.contains(&format!("  {input}:\n")), "input {input}");
        assert!(
            action.contains(&format!("{variable}: ${{{{ inputs.{input} }}}}")),
            "{variable} passed"
        );
        assert!(script.contains(&variable), "{variable} read");
    }
    for output in [
        "report-json",
        "junit",
        "cases",
        "failed",
        "skipped",
        "lost",
        "exit-code",
    ] {
        assert!(
            action.contains(&format!("steps.run.outputs.{output} }}")),
            "output {output}"
        );
        assert!(
            script.contains(&format!("{output}=")),
            "output {output} written"
        );
    }
}
