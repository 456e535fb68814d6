//! A target that needs credentials: `run --bearer-token` (or
//! `MCP_HARNESS_BEARER_TOKEN`) and `--header` reach a real server that refuses
//! requests without its token (the reference agents started with
//! `serve --require-token`), and no token or header value reaches a report,
//! a transcript or the logs in clear.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "tok-3f9a1c7e-never-in-a-file";
const API_KEY: &str = "key-8b2d44e0-never-in-a-file";

/// `mcp-harness run` against the reference agents started with
/// `--require-token` from the environment (so the token is in no command
/// line a transcript records), with `env` and `args` on top.
fn run_against_protected(env: &[(&str, &str)], args: &[&str]) -> Output {
    let exe = env!("CARGO_BIN_EXE_mcp-harness");
    let server =
        format!("{exe} serve --listen 127.0.0.1:{{port}} --time-scale 0 --input-timeout 60s");
    Command::new(exe)
        .arg("run")
        .args(["--server-cmd", &server, "--call-timeout", "10s"])
        .args(args)
        .env("MCP_HARNESS_SERVE_TOKEN", TOKEN)
        .env_remove("MCP_HARNESS_BEARER_TOKEN")
        .envs(env.iter().copied())
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir`, read as text.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    found
}

#[test]
fn a_token_from_the_environment_reaches_the_server_and_no_file_or_log() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let header = format!("X-Api-Key: {API_KEY}");
    let run = run_against_protected(
        &[("MCP_HARNESS_BEARER_TOKEN", TOKEN)],
        &[
            "elicitation/accept@2025-11-25",
            "tools/list@2025-06-18",
            "-vv",
            "--header",
            &header,
            "--format",
            "json",
            "--out",
            out_dir,
        ],
    );
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    for secret in [TOKEN, API_KEY] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
    let files = files_under(out.path());
    assert!(files.len() >= 4, "{files:?}");
    for (path, content) in &files {
        for secret in [TOKEN, API_KEY] {
            assert!(
                !content.contains(secret),
                "{} holds a credential in clear",
                path.display()
            );
        }
    }
    // What the transcript keeps of the token: its fingerprint, on every
    // request the client sent.
    let transcript = files
        .iter()
        .find(|(path, _)| path.ends_with("transcripts/tools__list@2025-06-18.jsonl"))
        .map(|(_, content)| content.clone())
        .expect("the case's transcript");
    let fingerprint = mcp_harness_wire::credential::fingerprint(&format!("Bearer {TOKEN}"));
    let requests: Vec<&str> = transcript
        .lines()
        .filter(|line| line.contains(r#""kind":"request""#))
        .collect();
    assert!(!requests.is_empty(), "{transcript}");
    for request in requests {
        assert!(request.contains(&fingerprint), "{request}");
    }
}

#[test]
fn without_the_token_every_case_fails_on_the_401_and_says_so() {
    let run = run_against_protected(&[], &["tools/list@2025-11-25"]);
    let stdout = text(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&run.stderr)
    );
    assert!(stdout.contains("FAIL tools/list@2025-11-25"), "{stdout}");
    assert!(stdout.contains("401"), "{stdout}");
    // A wrong token is refused the same way, and not shown.
    let wrong = run_against_protected(
        &[],
        &["tools/list@2025-11-25", "--bearer-token", "wrong-one"],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stdout).contains("401"));
    assert!(!text(&wrong.stdout).contains("wrong-one"));
}

#[test]
fn bad_credentials_options_are_usage_errors_that_show_no_value() {
    let exe = env!("CARGO_BIN_EXE_mcp-harness");
    let harness = |args: &[&str]| {
        Command::new(exe)
            .args(args)
            .env_remove("MCP_HARNESS_BEARER_TOKEN")
            .output()
            .unwrap()
    };
    let no_colon = harness(&["run", "--header", "X-Api-Key secret-value"]);
    assert_eq!(no_colon.status.code(), Some(2));
    assert!(text(&no_colon.stderr).contains("is not `Name: value`"));
    let reserved = harness(&["run", "--header", "Mcp-Session-Id: 1"]);
    assert_eq!(reserved.status.code(), Some(2));
    assert!(text(&reserved.stderr).contains("sets this header itself"));
    let twice = harness(&[
        "run",
        "--bearer-token",
        "secret-value",
        "--header",
        "Authorization: Basic secret-value",
    ]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(text(&twice.stderr).contains("given twice"));
    assert!(!text(&twice.stderr).contains("secret-value"));
    let stdio = harness(&[
        "run",
        "--transport",
        "stdio",
        "--bearer-token",
        "secret-value",
    ]);
    assert_eq!(stdio.status.code(), Some(2));
    assert!(text(&stdio.stderr).contains("are for HTTP targets"));
    let help = text(&harness(&["run", "--help"]).stdout);
    assert!(help.contains("--bearer-token") && help.contains("MCP_HARNESS_BEARER_TOKEN"));
}

/// The auth scenarios: skipped in a run without a credential; passed by the
/// reference agents behind a token; failed by a server that ignores tokens
/// (the reference agents without one, run as if they needed it).
#[test]
fn an_invalid_token_must_get_401_from_a_protected_server() {
    let protected = run_against_protected(&[("MCP_HARNESS_BEARER_TOKEN", TOKEN)], &["auth/"]);
    let stdout = text(&protected.stdout);
    assert_eq!(
        protected.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&protected.stderr)
    );
    assert!(
        stdout.contains("PASS auth/invalid_token@2025-03-26"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS auth/invalid_token@2026-07-28"),
        "{stdout}"
    );
    let exe = env!("CARGO_BIN_EXE_mcp-harness");
    let open = |env: &[(&str, &str)]| {
        Command::new(exe)
            .args(["run", "auth/invalid_token@2025-11-25"])
            .env_remove("MCP_HARNESS_BEARER_TOKEN")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let without = open(&[]);
    assert_eq!(without.status.code(), Some(0));
    assert!(text(&without.stdout).contains("the run carries no credential"));
    let ignored = open(&[("MCP_HARNESS_BEARER_TOKEN", TOKEN)]);
    let stdout = text(&ignored.stdout);
    assert_eq!(ignored.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("fail: auth.invalid_token_401")
            && stdout.contains("no authorization server issued was answered 200"),
        "{stdout}"
    );
}
