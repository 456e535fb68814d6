//! Running one scenario under one protocol version against one target:
//! start the target, put the chaos stack in front, drive the scripted client
//! through the steps, then judge the transcript.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcp_harness_chaos::{ChaosStack, StackConfig, TargetProcess, Toxic};
use mcp_harness_checks::{Level, Outcome, Verdict};
use mcp_harness_wire::{Transcript, WireEvent};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client::{CallHooks, CallOutcome, ScriptedClient};
use crate::profile::Profile;
use crate::scenario::{Expect, ScenarioFile, Step};

/// What to test.
#[derive(Debug, Clone)]
pub enum Target {
    /// The built-in reference agents, started from this `mcp-harness` binary.
    Reference {
        /// The `mcp-harness` executable.
        exe: PathBuf,
    },
    /// A server already running at this URL (restarts are not possible).
    Url(String),
    /// A server started from a command line with `{port}`, serving `path`.
    Command {
        /// The command template.
        command: String,
        /// The MCP endpoint's path, e.g. `/mcp`.
        path: String,
    },
}

/// Time limits of a case.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a started server may take to answer.
    pub start: Duration,
    /// How long the whole case may take.
    pub case: Duration,
    /// How long one call may wait for its result.
    pub call: Duration,
    /// How much of the transcript a case keeps in memory.
    pub records: mcp_harness_chaos::RecordLimits,
    /// The largest SSE event the proxy accepts, in bytes.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            start: Duration::from_secs(30),
            case: Duration::from_secs(90),
            call: Duration::from_secs(30),
            records: RECORD_LIMITS,
            max_event_bytes: 16 << 20,
        }
    }
}

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// Step number, from 1.
    pub step: usize,
    /// Whether it did what the scenario expected.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

/// One scenario x version.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Scenario id.
    pub scenario: String,
    /// Protocol version.
    pub version: String,
    /// Why the case did not run, if it did not (target lacks a role).
    pub skipped: Option<String>,
    /// Why the case could not complete (harness or target failure).
    pub error: Option<String>,
    /// Step results.
    pub steps: Vec<StepResult>,
    /// Check verdicts (including `scenario.expectations`).
    pub verdicts: Vec<Verdict>,
    /// What crossed the wire.
    #[serde(skip)]
    pub transcript: Transcript,
    /// The client's stdout and stderr (client tests), tails kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_output: Option<String>,
}

impl CaseResult {
    /// `scenario@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.scenario, self.version)
    }

    /// Whether anything failed (a MUST broken, an expectation unmet, an error).
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.verdicts.iter().any(|v| v.outcome == Outcome::Fail)
    }
}

/// How much of one case's transcript is kept by default: generous for any real
/// scenario, a bound for a server that floods.
pub const RECORD_LIMITS: mcp_harness_chaos::RecordLimits = mcp_harness_chaos::RecordLimits {
    max_records: 100_000,
    max_bytes: 32 << 20,
};

struct Server {
    process: Option<TargetProcess>,
    limits: Limits,
}

struct RestartHook {
    server: Arc<Mutex<Server>>,
    after: Option<u32>,
    after_server_events: Option<u32>,
    done: bool,
    recorder: Arc<mcp_harness_chaos::Recorder>,
}

/// How many SSE events the server sent on the latest `tools/call` stream, as
/// recorded by the proxy (delivered or withheld).
fn server_events_on_latest_call(transcript: &Transcript) -> u32 {
    let mut call = None;
    let mut count = 0;
    for record in &transcript.records {
        match &record.event {
            WireEvent::Request { exchange, body, .. }
                if body.json().is_some_and(|b| {
                    b.get("method").and_then(Value::as_str) == Some("tools/call")
                }) =>
            {
                call = Some(*exchange);
                count = 0;
            }
            WireEvent::Sse { exchange, .. } if Some(*exchange) == call => count += 1,
            _ => {}
        }
    }
    count
}

impl CallHooks for RestartHook {
    async fn after_event(&mut self, events: u32) {
        if self.done || self.after != Some(events) {
            return;
        }
        self.done = true;
        if let Some(wanted) = self.after_server_events {
            let recorder = self.recorder.clone();
            let sent = async {
                while server_events_on_latest_call(&recorder.transcript()) < wanted {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            };
            if tokio::time::timeout(Duration::from_secs(5), sent)
                .await
                .is_err()
            {
                self.recorder.note(format!(
                    "the server did not send {wanted} events within 5s; killing it anyway"
                ));
            }
        }
        let mut server = self.server.lock().await;
        let limit = server.limits.start;
        if let Some(process) = server.process.as_mut() {
            self.recorder.fault(
                None,
                "kill",
                format!("server SIGKILLed after {events} events, restarting"),
            );
            if let Err(e) = process.restart(limit).await {
                self.recorder.note(format!("restart failed: {e}"));
            }
        }
    }
}

fn expectations_verdict(version: &str, steps: &[StepResult]) -> Verdict {
    let findings: Vec<_> = steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| mcp_harness_checks::Finding {
            seq: None,
            observed: format!("step {}: {}", s.step, s.detail),
            expected: "what the scenario expects".into(),
        })
        .collect();
    Verdict {
        check: "scenario.expectations".into(),
        level: Level::Must,
        version: version.into(),
        citation: "the scenario file".into(),
        outcome: if !findings.is_empty() {
            Outcome::Fail
        } else if steps.is_empty() {
            Outcome::NotObserved
        } else {
            Outcome::Pass
        },
        examined: steps.len(),
        findings,
    }
}

/// Run `scenario` under `version` against `target`.
pub async fn run_case(
    scenario: &ScenarioFile,
    version: &str,
    target: &Target,
    profile: &Profile,
    limits: Limits,
) -> CaseResult {
    let mut case = CaseResult {
        scenario: scenario.id.clone(),
        version: version.into(),
        skipped: None,
        error: None,
        steps: Vec::new(),
        verdicts: Vec::new(),
        transcript: Transcript::default(),
        client_output: None,
    };
    if let Some(role) = scenario
        .scenario
        .needs
        .iter()
        .copied()
        .find(|r| profile.missing(&[*r]).is_some())
    {
        case.skipped = Some(format!(
            "the target's profile `{}` has no tool for role {role:?}",
            profile.name
        ));
        return case;
    }
    let deadline = tokio::time::Instant::now() + limits.case;
    let work = run_steps(
        scenario, version, target, profile, limits, deadline, &mut case,
    );
    // run_steps stops its script at the deadline and still collects the
    // transcript; this outer bound only guards set-up and tear-down.
    let backstop = limits.case + limits.start + Duration::from_secs(10);
    if tokio::time::timeout(backstop, work).await.is_err() {
        case.error = Some(format!("the case did not finish within {backstop:?}"));
    }
    let mut verdicts = mcp_harness_checks::judge(&case.transcript);
    verdicts.push(expectations_verdict(version, &case.steps));
    case.verdicts = verdicts;
    case
}

async fn run_steps(
    scenario: &ScenarioFile,
    version: &str,
    target: &Target,
    profile: &Profile,
    limits: Limits,
    deadline: tokio::time::Instant,
    case: &mut CaseResult,
) {
    let store = tempfile::tempdir().ok();
    let (process, base, path) = match target {
        Target::Url(url) => {
            let (base, path) = split_url(url);
            (None, base, path)
        }
        Target::Reference { exe } => {
            let store_path = store
                .as_ref()
                .map(|d| d.path().join("agents.db"))
                .unwrap_or_else(|| PathBuf::from("memory"));
            let command = format!(
                "{} serve --listen 127.0.0.1:{{port}} --time-scale 0 --input-timeout 1s --sse-retry 20ms --store {}",
                shell_quote(&exe.display().to_string()),
                shell_quote(&store_path.display().to_string())
            );
            match TargetProcess::start(&command, None, limits.start).await {
                Ok(process) => {
                    let base = format!("http://127.0.0.1:{}", process.port());
                    (Some(process), base, "/mcp".to_owned())
                }
                Err(e) => {
                    case.error = Some(format!("the reference agents did not start: {e}"));
                    return;
                }
            }
        }
        Target::Command { command, path } => {
            match TargetProcess::start(command, None, limits.start).await {
                Ok(process) => {
                    let base = format!("http://127.0.0.1:{}", process.port());
                    (Some(process), base, path.clone())
                }
                Err(e) => {
                    case.error = Some(format!("the target did not start: {e}"));
                    return;
                }
            }
        }
    };
    let server = Arc::new(Mutex::new(Server { process, limits }));
    let mut config = StackConfig::new(&base);
    config.record_limits = limits.records;
    config.proxy.max_event_bytes = limits.max_event_bytes;
    let stack = match ChaosStack::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            case.error = Some(format!("the chaos proxy did not start: {e}"));
            return;
        }
    };
    let recorder = stack.recorder().clone();
    for rule in &scenario.scenario.faults {
        stack.faults().add(rule.clone());
    }
    for toxic in &scenario.scenario.toxics {
        match Toxic::from_json(toxic) {
            Ok(toxic) => {
                if let Err(e) = stack.add_toxic(&toxic).await {
                    case.error = Some(format!("toxic {toxic:?}: {e}"));
                }
            }
            Err(e) => case.error = Some(format!("toxic {toxic}: {e}")),
        }
    }
    let accept = profile
        .roles
        .values()
        .find_map(|r| r.accept_content.clone())
        .unwrap_or_else(|| json!({}));
    let mut client = ScriptedClient::new(
        &format!("{}{path}", stack.base_url()),
        version,
        scenario.scenario.client.clone(),
        accept,
    );
    client.set_call_limit(limits.call);
    recorder.note(format!("scenario {} under {version}", scenario.id));
    let mut steps = Vec::new();
    let script = async {
        let connected = client.connect().await;
        let unsupported = match &connected {
            Ok(answer) => unsupported_version(answer, version),
            Err(_) => None,
        };
        if let Some(reason) = unsupported {
            return (Some(reason), None);
        }
        if let Err(e) = connected {
            return (None, Some(format!("could not start a session: {e}")));
        }
        for (n, step) in scenario.scenario.steps.iter().enumerate() {
            let result = run_step(n + 1, step, &mut client, &stack, &server, profile).await;
            steps.push(result);
        }
        (None, None)
    };
    match tokio::time::timeout_at(deadline, script).await {
        Ok((skipped, error)) => {
            case.skipped = skipped;
            if error.is_some() {
                case.error = error;
            }
        }
        Err(_) => {
            let done = steps.len();
            recorder.note(format!("case time limit reached after {done} steps"));
            case.error = Some(format!(
                "the case did not finish within {:?} (stopped during step {})",
                limits.case,
                done + 1
            ));
        }
    }
    case.steps = steps;
    tokio::time::sleep(Duration::from_millis(50)).await; // let the proxy record stream ends
    case.transcript = recorder.transcript();
    if !recorder.is_complete() {
        case.error = Some(format!(
            "the server sent more than a case may record ({} records or {} MB kept, {} more dropped); the checks judged the first part only",
            limits.records.max_records,
            limits.records.max_bytes >> 20,
            recorder.dropped()
        ));
    }
    stack.shutdown().await;
    if let Some(mut process) = server.lock().await.process.take() {
        process.kill().await;
    }
}

/// Why the server's answer to `initialize` / `server/discover` means it does not
/// speak `version` (the case is then skipped, not failed).
fn unsupported_version(answer: &Value, version: &str) -> Option<String> {
    if let Some(error) = answer.get("error") {
        if version >= crate::client::MODERN {
            return Some(format!(
                "the target does not support {version}: server/discover answered {error}"
            ));
        }
        return None;
    }
    let negotiated = answer
        .pointer("/result/protocolVersion")
        .and_then(Value::as_str)?;
    (negotiated != version)
        .then(|| format!("the target negotiated {negotiated} instead of {version}"))
}

fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => (
            url[..after_scheme + slash].to_owned(),
            url[after_scheme + slash..].to_owned(),
        ),
        None => (url.to_owned(), "/".to_owned()),
    }
}

/// `text` as one word for `sh`.
pub(crate) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn judge_call(
    outcome: &CallOutcome,
    expect: Expect,
    expect_text: Option<&str>,
    check_text: bool,
) -> (bool, String) {
    let is_error = outcome
        .result
        .as_ref()
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let got = match (&outcome.result, &outcome.error) {
        (Some(_), _) if is_error => Expect::ToolError,
        (Some(_), _) => Expect::Success,
        (None, Some(_)) => Expect::RpcError,
        (None, None) => Expect::NoResult,
    };
    let text: String = outcome
        .result
        .as_ref()
        .and_then(|r| r.get("content"))
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let mut detail = format!("{got:?}");
    if let Some(error) = &outcome.error {
        detail.push_str(&format!(" {error}"));
    }
    if let Some(reason) = &outcome.gave_up {
        detail.push_str(&format!(" ({reason})"));
    }
    if outcome.recoveries > 0 {
        detail.push_str(&format!(", {} recoveries", outcome.recoveries));
    }
    let mut ok = got == expect || expect == Expect::Any;
    if !ok {
        detail = format!("expected {expect:?}, got {detail}");
    }
    if let (Some(want), true) = (expect_text, check_text)
        && !text.contains(want)
    {
        ok = false;
        detail.push_str(&format!("; the result does not contain {want:?}: {text:?}"));
    }
    (ok, detail)
}

async fn run_step(
    n: usize,
    step: &Step,
    client: &mut ScriptedClient,
    stack: &ChaosStack,
    server: &Arc<Mutex<Server>>,
    profile: &Profile,
) -> StepResult {
    let done = |ok: bool, detail: String| StepResult {
        step: n,
        ok,
        detail,
    };
    match step {
        Step::Call {
            tool,
            arguments,
            progress_token,
            expect,
            expect_text,
            restart_after_events,
            restart_after_server_events,
        } => {
            let Some(binding) = profile.resolve(tool) else {
                return done(false, format!("the profile has no tool for `{tool}`"));
            };
            let arguments = arguments.clone().unwrap_or(binding.arguments);
            let mut hooks = RestartHook {
                server: server.clone(),
                after: *restart_after_events,
                after_server_events: *restart_after_server_events,
                done: false,
                recorder: stack.recorder().clone(),
            };
            match client
                .call(
                    &binding.tool,
                    &arguments,
                    progress_token.as_ref(),
                    &mut hooks,
                )
                .await
            {
                Ok(outcome) => {
                    let (ok, detail) =
                        judge_call(&outcome, *expect, expect_text.as_deref(), profile.reference);
                    done(ok, format!("call {}: {detail}", binding.tool))
                }
                Err(e) => done(false, format!("call {}: {e}", binding.tool)),
            }
        }
        Step::Raw {
            method,
            headers,
            session,
            body,
            text_body,
            expect_status,
            expect_status_in,
        } => {
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut wanted: Vec<u16> = expect_status_in.clone();
            wanted.extend(expect_status.iter().copied());
            if wanted.is_empty() {
                return done(
                    false,
                    "a raw step needs expect_status or expect_status_in".into(),
                );
            }
            let payload = match (body, text_body) {
                (Some(json), _) => Some(json.to_string()),
                (None, Some(text)) => Some(text.clone()),
                (None, None) => None,
            };
            match client
                .raw(method, &headers, session, payload.as_deref())
                .await
            {
                Ok(status) => done(
                    wanted.contains(&status),
                    format!("{method} answered {status} (expected {wanted:?})"),
                ),
                Err(e) => done(false, format!("{method}: {e}")),
            }
        }
        Step::DeleteSession => match client.delete_session().await {
            Ok(status) => done(
                (200..300).contains(&status) || status == 405,
                format!("DELETE answered {status}"),
            ),
            Err(e) => done(false, e.to_string()),
        },
        Step::Wait { ms } => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            done(true, format!("waited {ms} ms"))
        }
        Step::Fault { rule } => {
            stack.faults().add(rule.clone());
            done(true, format!("fault {} armed", rule.fault.name()))
        }
        Step::Network { up } => match stack.set_network(*up).await {
            Ok(()) => done(true, format!("network {}", if *up { "up" } else { "down" })),
            Err(e) => done(false, e.to_string()),
        },
        Step::Toxic { toxic } => match Toxic::from_json(toxic) {
            Ok(toxic) => match stack.add_toxic(&toxic).await {
                Ok(()) => done(true, format!("toxic {} added", toxic.name)),
                Err(e) => done(false, format!("toxic {}: {e}", toxic.name)),
            },
            Err(e) => done(false, format!("toxic {toxic}: {e}")),
        },
        Step::RemoveToxic { name } => match stack.remove_toxic(name).await {
            Ok(()) => done(true, format!("toxic {name} removed")),
            Err(e) => done(false, format!("toxic {name}: {e}")),
        },
        Step::OpenGetStream => match client.open_get_stream().await {
            Ok(status) => done(
                status == 200 || status == 405,
                format!("GET stream answered {status} (expected 200, or 405 if not offered)"),
            ),
            Err(e) => done(false, format!("GET stream: {e}")),
        },
    }
}
