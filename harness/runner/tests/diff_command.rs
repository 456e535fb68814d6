//! `mcp-harness diff` on two real runs: the same scenario against a server
//! that keeps a rule and against one that breaks it (the reference agents
//! behind a token, and without one while the run sends a token: an invalid
//! token is then served). The later run's new failure gates (exit 1), the
//! other way round it is a fix (exit 0).

use std::path::Path;
use std::process::{Command, Output};

const TOKEN: &str = "diff-test-token";

fn harness(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args(args)
        .env_remove("MCP_HARNESS_BEARER_TOKEN")
        .env_remove("MCP_HARNESS_SERVE_TOKEN")
        .envs(env.iter().copied())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_new_failure_gates_and_a_fix_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good"), dir.path().join("bad"));
    let exe = env!("CARGO_BIN_EXE_mcp-harness");
    let protected = format!("{exe} serve --listen 127.0.0.1:{{port}} --time-scale 0");
    let token = [
        ("MCP_HARNESS_BEARER_TOKEN", TOKEN),
        ("MCP_HARNESS_SERVE_TOKEN", TOKEN),
    ];
    let case = "auth/invalid_token@2025-11-25";
    let kept = harness(
        &[
            "run",
            case,
            "--server-cmd",
            &protected,
            "--out",
            good.to_str().unwrap(),
        ],
        &token,
    );
    assert_eq!(kept.status.code(), Some(0), "{}", text(&kept.stdout));
    let broken = harness(&["run", case, "--out", bad.to_str().unwrap()], &token[..1]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken.stdout));
    let (good, bad) = (good.to_str().unwrap(), bad.to_str().unwrap());

    let worse = harness(&["diff", good, bad], &[]);
    let said = text(&worse.stdout);
    assert_eq!(worse.status.code(), Some(1), "{said}");
    assert!(said.contains("new failures ("), "{said}");
    assert!(
        said.contains("auth/invalid_token@2025-11-25 auth.invalid_token_401"),
        "{said}"
    );
    assert!(said.trim_end().ends_with("that did not before"), "{said}");

    let better = harness(&["diff", bad, good], &[]);
    let said = text(&better.stdout);
    assert_eq!(better.status.code(), Some(0), "{said}");
    assert!(said.contains("fixed ("), "{said}");
    assert!(said.trim_end().ends_with("no regression"), "{said}");

    let same = harness(&["diff", good, good], &[]);
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(text(&same.stdout), "no change\n");

    let json = harness(&["diff", good, bad, "--format", "json"], &[]);
    assert_eq!(json.status.code(), Some(1));
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["regressed"], true);
    assert_eq!(
        parsed["new_failures"][0]["check"], "auth.invalid_token_401",
        "{parsed}"
    );

    // Something that is no report: a usage error naming the file.
    let missing = harness(&["diff", good, "/nonexistent/report"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("/nonexistent/report"));
    let not_a_report = dir.path().join("x.json");
    std::fs::write(&not_a_report, "{\"hello\": 1}").unwrap();
    let wrong = harness(&["diff", good, not_a_report.to_str().unwrap()], &[]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("not an mcp-harness report"),
        "{}",
        text(&wrong.stderr)
    );
}
