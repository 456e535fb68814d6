//! Testing MCP clients: for each client scenario, start the reference agents as
//! the scripted server behind the chaos proxy (with the scenario's faults), run
//! the client command with the server URL as its last argument and the
//! conformance-suite environment (MCP_CONFORMANCE_SCENARIO,
//! MCP_CONFORMANCE_PROTOCOL_VERSION), bounded in time, then judge what crossed
//! the wire with the client checks. The client's whole process group is killed
//! at the end, whatever it did.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mcp_harness_chaos::{ChaosStack, FaultRule, StackConfig, TargetProcess};
use mcp_harness_checks::{Finding, Level, Outcome, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::run::{CaseResult, StepResult, shell_quote};
use crate::scenario::{
    ScenarioError, Transport, check_cited, check_versions, parse_as, read_files,
};

/// A client scenario file (under scenarios/client/).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientScenario {
    /// What it exercises, in one sentence.
    pub description: String,
    /// Protocol versions it runs under.
    pub versions: Vec<String>,
    /// Its subject: the client checks it is written to exercise, by id
    /// (`cites = ["client.waits_retry"]`); every id must be in the client
    /// catalog.
    #[serde(default)]
    pub cites: Vec<String>,
    /// The name given to the client in MCP_CONFORMANCE_SCENARIO (which agent
    /// it should call: travel, research, long_running).
    pub scenario: String,
    /// SSE faults of the proxy (cuts, closes with retry, a 404 as an expired
    /// session...), in force from the start.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// The exit code the client must end with.
    #[serde(default)]
    pub expect_exit: i32,
    /// The transports it applies to (`["http"]` when absent); over stdio the
    /// client gets a command that starts the scripted server instead of a URL.
    #[serde(default = "http_only")]
    pub transports: Vec<Transport>,
}

impl ClientScenario {
    /// Its tags, which `client-test` filters match as well as ids: `chaos`
    /// when the proxy injects a fault, then its transports.
    pub fn tags(&self) -> Vec<&'static str> {
        crate::scenario::tags_of(!self.faults.is_empty(), &self.transports)
    }
}

fn http_only() -> Vec<Transport> {
    vec![Transport::Http]
}

/// A client scenario with where it came from.
#[derive(Debug, Clone)]
pub struct ClientScenarioFile {
    /// `client/<name>`.
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// Its content.
    pub scenario: ClientScenario,
}

/// Load every client scenario under `dir`, sorted by id; bad files are errors.
pub fn load_client_dir(dir: &Path) -> (Vec<ClientScenarioFile>, Vec<ScenarioError>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let (texts, mut errors) = read_files(paths);
    let (files, more) = load_client_texts(texts);
    errors.extend(more);
    (files, errors)
}

/// The built-in client scenarios (compiled into the binary).
pub fn load_client_builtin() -> (Vec<ClientScenarioFile>, Vec<ScenarioError>) {
    load_client_texts(
        crate::builtin::files_under(crate::scenario::CLIENT_SCENARIOS)
            .into_iter()
            .map(|(path, text)| (path, text.to_owned()))
            .collect(),
    )
}

/// Parse client scenario files given as (path, text); ids are `client/STEM`.
fn load_client_texts(
    texts: Vec<(PathBuf, String)>,
) -> (Vec<ClientScenarioFile>, Vec<ScenarioError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in texts {
        let id = format!(
            "client/{}",
            path.file_stem().unwrap_or_default().to_string_lossy()
        );
        let parsed = parse_as(&path, &text).and_then(|scenario: ClientScenario| {
            check_versions(&path, &text, &scenario.versions)?;
            check_cited(
                &path,
                &text,
                scenario.cites.iter().map(String::as_str),
                mcp_harness_checks::client_catalog(),
                ("client check", "client.waits_retry"),
            )?;
            Ok(scenario)
        });
        match parsed {
            Ok(scenario) => files.push(ClientScenarioFile { id, path, scenario }),
            Err(e) => errors.push(e),
        }
    }
    (files, errors)
}

/// Time limits of a client case.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    /// How long the scripted server may take to start.
    pub start: Duration,
    /// How long the client may run.
    pub client: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            start: Duration::from_secs(30),
            client: Duration::from_secs(60),
        }
    }
}

/// Keep at most this much of each of the client's output streams (the tail).
const OUTPUT_LIMIT: usize = 64 * 1024;

async fn read_bounded(mut pipe: impl tokio::io::AsyncRead + Unpin) -> (String, u64) {
    let mut kept: Vec<u8> = Vec::new();
    let mut total = 0u64;
    let mut buffer = vec![0u8; 16 * 1024];
    while let Ok(n) = pipe.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        total += n as u64;
        kept.extend_from_slice(&buffer[..n]);
        if kept.len() > OUTPUT_LIMIT {
            kept.drain(..kept.len() - OUTPUT_LIMIT);
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), total)
}

/// The version the client and the server agreed on, if they got that far: the
/// `protocolVersion` of an initialize result, or the version a 2026-07-28 client
/// named in its requests' `_meta`.
fn negotiated(transcript: &mcp_harness_wire::Transcript) -> Option<String> {
    let analysis = mcp_harness_checks::Analysis::of(transcript);
    analysis
        .exchanges
        .iter()
        .find_map(|x| match x.rpc_method() {
            Some("initialize") => x.server_messages().find_map(|(_, m, _)| {
                m.pointer("/result/protocolVersion")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            }),
            Some(_) => x
                .body
                .as_ref()?
                .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            None => None,
        })
}

/// Run `scenario` under `version` with `client_cmd`; `exe` is the harness binary
/// (it serves the reference agents).
pub async fn run_client_case(
    file: &ClientScenarioFile,
    version: &str,
    client_cmd: &str,
    exe: &Path,
    limits: ClientLimits,
) -> CaseResult {
    run_client_case_over(file, version, client_cmd, exe, limits, Transport::Http).await
}

/// [`run_client_case`] over `transport`. Over stdio the client's last
/// argument is a command line (one argument, for `sh -c`) that starts the
/// scripted server on its stdin and stdout through `mcp-harness stdio-tap`,
/// which records both directions; the same command is in the environment as
/// `MCP_HARNESS_STDIO_SERVER`.
pub async fn run_client_case_over(
    file: &ClientScenarioFile,
    version: &str,
    client_cmd: &str,
    exe: &Path,
    limits: ClientLimits,
    transport: Transport,
) -> CaseResult {
    let case_started = Instant::now();
    let mut case = CaseResult::new(&file.id, version);
    if !file.scenario.transports.contains(&transport) {
        case.skipped = Some(format!(
            "a client scenario of {} only: this client speaks {}",
            file.scenario
                .transports
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" and "),
            transport.name()
        ));
        return case;
    }
    if transport == Transport::Stdio {
        let (exit, detail) =
            run_stdio_client(file, version, client_cmd, exe, limits, &mut case).await;
        return judge_client_case(case, file, version, exit, detail, case_started);
    }
    let store = tempfile::tempdir().ok();
    let store_path = store
        .as_ref()
        .map(|d| d.path().join("agents.db").display().to_string())
        .unwrap_or_else(|| "memory".into());
    let command = format!(
        "{} serve --listen 127.0.0.1:{{port}} --time-scale 0.01 --input-timeout 10s --sse-retry 200ms --store {}",
        shell_quote(&exe.display().to_string()),
        shell_quote(&store_path)
    );
    let mut server = match TargetProcess::start(&command, None, limits.start).await {
        Ok(server) => server,
        Err(e) => {
            case.error = Some(format!("the scripted server did not start: {e}"));
            return case;
        }
    };
    let stack = match ChaosStack::start(StackConfig::new(&format!(
        "http://127.0.0.1:{}",
        server.port()
    )))
    .await
    {
        Ok(stack) => stack,
        Err(e) => {
            case.error = Some(format!("the chaos proxy did not start: {e}"));
            server.kill().await;
            return case;
        }
    };
    // The server of a client scenario is the reference agents: a `role`
    // selector names their tools.
    let reference = crate::profile::Profile::reference_agents();
    for rule in &file.scenario.faults {
        match crate::run::resolve_rule(rule, &reference) {
            Ok(rule) => {
                stack.add_fault(rule);
            }
            Err(e) => case.error = Some(e.to_string()),
        }
    }
    let url = format!("{}/mcp", stack.base_url());
    stack
        .recorder()
        .note(format!("client scenario {} under {version}", file.id));

    let (exit, detail) = run_client(client_cmd, &url, file, version, limits, &mut case).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    case.transcript = stack.recorder().transcript();
    stack.shutdown().await;
    server.kill().await;
    judge_client_case(case, file, version, exit, detail, case_started)
}

/// Judge a client case whose client ended with `exit` (`detail` says how).
fn judge_client_case(
    mut case: CaseResult,
    file: &ClientScenarioFile,
    version: &str,
    exit: Option<i32>,
    detail: String,
    case_started: Instant,
) -> CaseResult {
    let ok = exit == Some(file.scenario.expect_exit);
    case.steps.push(StepResult {
        step: 1,
        ok,
        detail: detail.clone(),
        cites: None,
        result_text: None,
    });
    if let Some(spoken) = negotiated(&case.transcript)
        && spoken != version
    {
        // Judged, but under the version the client actually negotiated: the case
        // for `version` did not happen.
        case.skipped = Some(format!(
            "the client spoke {spoken}, not {version} (it does not support {version})"
        ));
        case.duration_ms = case_started.elapsed().as_millis() as u64;
        return case;
    }
    let mut verdicts = mcp_harness_checks::judge_client(&case.transcript);
    verdicts.push(Verdict {
        check: "client.completed".into(),
        level: Level::Must,
        version: version.into(),
        citation: "the client scenario".into(),
        outcome: if ok { Outcome::Pass } else { Outcome::Fail },
        examined: 1,
        findings: if ok {
            Vec::new()
        } else {
            vec![Finding {
                seq: None,
                observed: detail,
                expected: format!("exit code {}", file.scenario.expect_exit),
            }]
        },
    });
    case.verdicts = verdicts;
    case.unexercised =
        mcp_harness_checks::unexercised_faults(&mcp_harness_checks::Analysis::of(&case.transcript));
    case.duration_ms = case_started.elapsed().as_millis() as u64;
    case
}

/// Run the client command with `last_argument` appended, bounded by the
/// client limit; its whole process group is killed at the end. Its output
/// goes into `case`; the answer is its exit code and how it ended.
async fn run_client(
    client_cmd: &str,
    last_argument: &str,
    file: &ClientScenarioFile,
    version: &str,
    limits: ClientLimits,
    case: &mut CaseResult,
) -> (Option<i32>, String) {
    run_client_with(client_cmd, last_argument, &[], file, version, limits, case).await
}

async fn run_client_with(
    client_cmd: &str,
    last_argument: &str,
    extra_env: &[(&str, String)],
    file: &ClientScenarioFile,
    version: &str,
    limits: ClientLimits,
    case: &mut CaseResult,
) -> (Option<i32>, String) {
    let started = Instant::now();
    let spawned = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec {client_cmd} {}", shell_quote(last_argument)))
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .env("MCP_CONFORMANCE_SCENARIO", &file.scenario.scenario)
        .env("MCP_CONFORMANCE_PROTOCOL_VERSION", version)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let (exit, detail) = match spawned {
        Err(e) => (None, format!("the client command could not start: {e}")),
        Ok(mut child) => {
            let group = child.id().map(|pid| pid as i32);
            let stdout = tokio::spawn(read_bounded(child.stdout.take().unwrap()));
            let stderr = tokio::spawn(read_bounded(child.stderr.take().unwrap()));
            let waited = tokio::time::timeout(limits.client, child.wait()).await;
            // Whatever happened, nothing of the client outlives its case.
            if let Some(group) = group {
                // SAFETY: signalling a process group we created; no memory involved.
                unsafe {
                    libc::kill(-group, libc::SIGKILL);
                }
            }
            let _ = child.wait().await;
            // A descendant that left the group may hold the pipes open: bounded.
            let grace = Duration::from_secs(2);
            let stdout_abort = stdout.abort_handle();
            let stderr_abort = stderr.abort_handle();
            let (out, out_total) = match tokio::time::timeout(grace, stdout).await {
                Ok(Ok(read)) => read,
                _ => {
                    stdout_abort.abort();
                    (String::new(), 0)
                }
            };
            let (err, err_total) = match tokio::time::timeout(grace, stderr).await {
                Ok(Ok(read)) => read,
                _ => {
                    stderr_abort.abort();
                    (String::new(), 0)
                }
            };
            case.client_output = Some(format!(
                "--- stdout ({out_total} bytes, last {} kept) ---\n{out}\n--- stderr ({err_total} bytes, last {} kept) ---\n{err}",
                out.len(),
                err.len()
            ));
            match waited {
                Ok(Ok(status)) => (
                    status.code(),
                    format!(
                        "the client exited with {:?} after {:.1}s",
                        status.code(),
                        started.elapsed().as_secs_f64()
                    ),
                ),
                Ok(Err(e)) => (None, format!("waiting for the client failed: {e}")),
                Err(_) => (
                    None,
                    format!(
                        "the client did not finish within {:?}: killed",
                        limits.client
                    ),
                ),
            }
        }
    };
    (exit, detail)
}

/// How long the stdio tap may take to end its server after the client ended.
const TAP_FINISH: Duration = Duration::from_secs(6);

/// A client over stdio: it starts `mcp-harness stdio-tap` in front of the
/// reference agents' `serve --stdio`; the tap's recording is the transcript.
async fn run_stdio_client(
    file: &ClientScenarioFile,
    version: &str,
    client_cmd: &str,
    exe: &Path,
    limits: ClientLimits,
    case: &mut CaseResult,
) -> (Option<i32>, String) {
    let Ok(dir) = tempfile::tempdir() else {
        return (None, "no temporary folder for the recording".into());
    };
    let record = dir.path().join("transcript.jsonl");
    let exe_text = shell_quote(&exe.display().to_string());
    let server = format!(
        "{exe_text} serve --stdio --time-scale 0.01 --input-timeout 10s --store {}",
        shell_quote(&dir.path().join("agents.db").display().to_string())
    );
    let tap = format!(
        "{exe_text} stdio-tap --record {} -- {server}",
        shell_quote(&record.display().to_string())
    );
    let env = [("MCP_HARNESS_STDIO_SERVER", tap.clone())];
    let (exit, detail) = run_client_with(client_cmd, &tap, &env, file, version, limits, case).await;
    // The tap ends the server once the client has closed its stdin, and
    // records that last: wait for it (bounded: stdin, SIGTERM, SIGKILL).
    let waited = Instant::now();
    let mut text = std::fs::read_to_string(&record).unwrap_or_default();
    while !text.contains(r#""event":"exited""#) && waited.elapsed() < TAP_FINISH {
        tokio::time::sleep(Duration::from_millis(50)).await;
        text = std::fs::read_to_string(&record).unwrap_or_default();
    }
    match mcp_harness_wire::Transcript::from_jsonl(&text) {
        Ok(transcript) => case.transcript = transcript,
        Err(e) if text.is_empty() => {
            let _ = e;
            case.error = Some("the client never started the stdio server it was given".into());
        }
        Err(e) => case.error = Some(format!("the stdio recording could not be read: {e}")),
    }
    (exit, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_client_scenario_cites_client_checks() {
        let (files, errors) = load_client_builtin();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!files.is_empty());
        for file in files {
            assert!(file.id.starts_with("client/"), "{}", file.id);
            let area = file
                .scenario
                .cites
                .first()
                .and_then(|id| mcp_harness_checks::area_of(id));
            assert_eq!(
                area,
                Some("client"),
                "{}: cites {:?}",
                file.id,
                file.scenario.cites
            );
        }
    }

    #[test]
    fn an_unknown_client_check_in_cites_names_the_file_line_and_field() {
        let text = "description = \"d\"\nversions = [\"2025-11-25\"]\ncites = [\"client.no_such\"]\nscenario = \"travel\"\n";
        let (files, errors) = load_client_texts(vec![(PathBuf::from("x/bad.toml"), text.into())]);
        assert!(files.is_empty());
        let message = errors[0].to_string();
        assert!(message.starts_with("x/bad.toml:3:"), "{message}");
        assert!(
            message.contains("field `cites`: no client check `client.no_such`"),
            "{message}"
        );
    }
}
