//! `mcp-harness profile` end to end: a starter profile for the reference agents
//! and for a server nobody here wrote (the Python SDK fixture) that loads and
//! names the right tools, one that `run` accepts, and clear errors for bad
//! input and a server that never answers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mcp_harness::profile::Profile;
use mcp_harness::scenario::Role;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn tool_of(profile: &Profile, role: Role) -> &str {
    profile
        .roles
        .get(&role)
        .map(|b| b.tool.as_str())
        .unwrap_or_else(|| panic!("no {role:?} in {profile:?}"))
}

#[test]
fn the_reference_agents_get_a_starter_profile_that_run_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agents.toml");
    let made = harness(&["profile", "--out", file.to_str().unwrap()]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    let profile: Profile = toml::from_str(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(profile.name, "mcp-harness-reference-agents");
    assert_eq!(tool_of(&profile, Role::Elicits), "travel_agent");
    assert_eq!(tool_of(&profile, Role::Samples), "research_agent");
    assert_eq!(tool_of(&profile, Role::Progress), "long_running_agent");
    assert_eq!(tool_of(&profile, Role::LongRunning), "long_running_agent");
    // Every tool is shown with its schema, all pages of tools/list included.
    for tool in ["travel_agent", "research_agent", "long_running_agent"] {
        assert!(written.contains(&format!("# - {tool}: ")), "{written}");
    }
    assert!(written.contains("#   inputSchema: {"), "{written}");

    // The starter profile drives a run on a server started by command.
    let exe = env!("CARGO_BIN_EXE_mcp-harness");
    let command = format!("{exe} serve --listen 127.0.0.1:{{port}} --time-scale 0");
    let run = harness(&[
        "run",
        "elicitation/accept",
        "progress/string_token",
        "--version",
        "2025-11-25",
        "--server-cmd",
        &command,
        "--profile",
        file.to_str().unwrap(),
    ]);
    let stdout = text(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&run.stderr)
    );
    assert!(stdout.contains("2 passed, 0 failed, 0 skipped"), "{stdout}");

    // An existing file is kept unless --force.
    let again = harness(&["profile", "--out", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("--force"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn a_server_nobody_here_wrote_gets_its_tools_guessed() {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "no {} (hint: run ci/test.sh, or: python3 -m venv .venv && .venv/bin/pip install 'mcp==1.30.0')",
        python.display()
    );
    let command = format!(
        "{} fixtures/python_sdk/server.py --port {{port}}",
        python.display()
    );
    let made = harness(&["profile", "--server-cmd", &command]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let written = text(&made.stdout);
    let profile: Profile = toml::from_str(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(tool_of(&profile, Role::Elicits), "travel_agent");
    assert_eq!(tool_of(&profile, Role::Samples), "research_agent");
    assert_eq!(tool_of(&profile, Role::LongRunning), "long_running_agent");
    // Arguments from the schema's defaults (FastMCP writes them).
    assert_eq!(
        profile.roles[&Role::Elicits].arguments["destination"],
        serde_json::json!("Paris")
    );
}

#[test]
fn bad_input_and_a_silent_server_get_clear_errors() {
    let no_port = harness(&["profile", "--server-cmd", "python server.py"]);
    assert_eq!(no_port.status.code(), Some(2));
    assert!(
        text(&no_port.stderr).contains("{port}"),
        "{}",
        text(&no_port.stderr)
    );

    let bad_version = harness(&["profile", "--version", "2024-01-01"]);
    assert_eq!(bad_version.status.code(), Some(2));
    assert!(
        text(&bad_version.stderr).contains("`2024-01-01`"),
        "{}",
        text(&bad_version.stderr)
    );

    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let silent = harness(&["profile", "--server-url", &url, "--start-timeout", "1s"]);
    assert_eq!(silent.status.code(), Some(1));
    let stderr = text(&silent.stderr);
    assert!(
        stderr.contains("no answer to the first request"),
        "{stderr}"
    );
    assert!(text(&silent.stdout).is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_stdio_server_gets_a_starter_profile_that_says_stdio_and_run_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stdio.toml");
    let server = format!(
        "{} serve --stdio --time-scale 0 --store memory",
        env!("CARGO_BIN_EXE_mcp-harness")
    );
    let made = harness(&[
        "profile",
        "--transport",
        "stdio",
        "--server-cmd",
        &server,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let profile = Profile::load(&file).unwrap();
    assert_eq!(
        profile.transport,
        Some(mcp_harness::scenario::Transport::Stdio)
    );
    assert_eq!(tool_of(&profile, Role::Elicits), "travel_agent");
    // The profile alone says stdio: no --transport needed.
    let run = harness(&[
        "run",
        "elicitation/accept",
        "--version",
        "2025-11-25",
        "--server-cmd",
        &server,
        "--profile",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stdout));
    assert!(text(&run.stdout).contains("PASS elicitation/accept@2025-11-25"));
}
