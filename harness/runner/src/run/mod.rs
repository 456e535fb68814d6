//! Running one scenario under one protocol version against one target:
//! start the target, put the chaos stack in front, drive the scripted client
//! through the steps, then judge the transcript.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcp_harness_chaos::{ChaosStack, StackConfig, StdioServer, TargetProcess};
use mcp_harness_checks::{Level, Outcome, Verdict};
use mcp_harness_wire::{Fault, FaultMark, ProcessFault, Transcript, WireEvent};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

mod faults;
use faults::FaultDriver;

use crate::client::{CallHooks, CallOutcome, ClientError, NoHooks, ScriptedClient};
use crate::pool::{PooledServer, ServerPool};
use crate::profile::Profile;
use crate::scenario::{
    AnswerExpect, CallStep, Expect, ResumeExpect, ResumeFrom, ScenarioFile, Step, Transport,
};

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
    /// The built-in reference agents over stdio (`mcp-harness serve --stdio`).
    ReferenceStdio {
        /// The `mcp-harness` executable.
        exe: PathBuf,
    },
    /// A stdio server started from a command line: it speaks on its stdin
    /// and stdout (no port).
    StdioCommand {
        /// The command line.
        command: String,
    },
}

impl Target {
    /// How the harness talks to it.
    pub fn transport(&self) -> Transport {
        match self {
            Self::ReferenceStdio { .. } | Self::StdioCommand { .. } => Transport::Stdio,
            _ => Transport::Http,
        }
    }

    /// The command that starts a stdio target (the reference agents keep
    /// their runs in `store`), if it is one.
    fn stdio_command(&self, store: Option<&tempfile::TempDir>) -> Option<String> {
        match self {
            Self::StdioCommand { command } => Some(command.clone()),
            Self::ReferenceStdio { exe } => {
                let store_path = store
                    .map(|d| d.path().join("agents.db"))
                    .unwrap_or_else(|| PathBuf::from("memory"));
                Some(format!(
                    "{} serve --stdio --time-scale 0 --input-timeout 1s --store {}",
                    shell_quote(&exe.display().to_string()),
                    shell_quote(&store_path.display().to_string())
                ))
            }
            _ => None,
        }
    }
}

/// How long a stdio server may take to exit once its stdin closes, and again
/// after SIGTERM, before the next step of the shutdown.
pub const STDIO_EXIT_GRACE: Duration = Duration::from_secs(2);

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
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StepResult {
    /// Step number, from 1.
    pub step: usize,
    /// Whether it did what the scenario expected.
    pub ok: bool,
    /// What happened.
    pub detail: String,
    /// The check whose rule the step's expectation enforces, if it cites one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cites: Option<String>,
    /// The text of the call's result, for a call step that got one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_text: Option<String>,
}

/// One scenario x version.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
    /// Did the calls a fault hit survive it (beside conformance, the verdicts)?
    pub resilience: mcp_harness_checks::Resilience,
    /// The faults the scenario declared that never fired: the case did not
    /// test what it is about, and is not a pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unexercised: Vec<mcp_harness_checks::Unexercised>,
    /// How long the case took, set-up and tear-down included.
    pub duration_ms: u64,
    /// It ended at a time limit: the case's, the first request's or a call's.
    #[serde(skip)]
    pub timed_out: bool,
    /// The server refused its session at the start (connection refused,
    /// 503, 429): with fewer cases at once it may not.
    #[serde(skip)]
    pub refused_at_start: bool,
}

impl CaseResult {
    /// A case that has not run (yet): nothing but its name.
    pub fn new(scenario: &str, version: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            version: version.to_owned(),
            skipped: None,
            error: None,
            steps: Vec::new(),
            verdicts: Vec::new(),
            transcript: Transcript::default(),
            client_output: None,
            resilience: mcp_harness_checks::Resilience::NotChaos,
            unexercised: Vec::new(),
            duration_ms: 0,
            timed_out: false,
            refused_at_start: false,
        }
    }

    /// A case that was never run, failed for `reason` (a dead target).
    pub fn not_run(scenario: &str, version: &str, reason: String) -> Self {
        Self {
            error: Some(reason),
            ..Self::new(scenario, version)
        }
    }

    /// Whether the case failed at a time limit (not merely after a long
    /// wait): what a target that stopped answering makes every case do.
    pub fn failed_at_time_limit(&self) -> bool {
        self.failed() && self.timed_out
    }

    /// `scenario@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.scenario, self.version)
    }

    /// Whether anything failed (a MUST broken, an expectation unmet, an error).
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.verdicts.iter().any(|v| v.outcome == Outcome::Fail)
    }

    /// Whether a call a fault hit was lost (resilience, not conformance).
    pub fn lost_a_call(&self) -> bool {
        self.skipped.is_none() && self.resilience.lost()
    }
}

/// How much of one case's transcript is kept by default: generous for any real
/// scenario, a bound for a server that floods.
pub const RECORD_LIMITS: mcp_harness_chaos::RecordLimits = mcp_harness_chaos::RecordLimits {
    max_records: 100_000,
    max_bytes: 32 << 20,
};

struct Server {
    /// An HTTP target's server (from the pool, or the case's own).
    http: Option<PooledServer>,
    /// A stdio target's process.
    stdio: Option<Arc<StdioServer>>,
    limits: Limits,
}

struct RestartHook {
    server: Arc<Mutex<Server>>,
    /// stdio: close the server's stdin after this many events, and end the
    /// process as the stdio shutdown says.
    close_stdin_after: Option<u32>,
    after: Option<u32>,
    after_polls: Option<u32>,
    after_server_events: Option<u32>,
    done: bool,
    recorder: Arc<mcp_harness_chaos::Recorder>,
    /// The declared kill, when the call asks for one (its records carry it).
    kill_id: Option<u32>,
    /// The declared close of stdin, when the call asks for one.
    close_stdin_id: Option<u32>,
}

const KILL: Fault = Fault::Process {
    fault: ProcessFault::Kill,
};
const CLOSE_STDIN: Fault = Fault::Process {
    fault: ProcessFault::CloseStdin,
};

impl RestartHook {
    /// The hooks of `call`, each fault it asks for declared in the transcript.
    fn declare(mut self, call: &CallStep) -> Self {
        let declare = |fault: &Fault, when: String| {
            let id = self.recorder.next_fault_id();
            self.recorder
                .fault(FaultMark::declared(id), fault, format!("armed: {when}"));
            id
        };
        let of_call = format!("of the call to `{}`", call.tool);
        if let Some(n) = call.restart_after_events {
            self.kill_id = Some(declare(
                &KILL,
                format!("SIGKILL and restart after {n} events {of_call}"),
            ));
        } else if let Some(n) = call.restart_after_task_polls {
            self.kill_id = Some(declare(
                &KILL,
                format!("SIGKILL and restart after {n} task polls {of_call}"),
            ));
        }
        if let Some(n) = call.close_stdin_after_events {
            self.close_stdin_id = Some(declare(
                &CLOSE_STDIN,
                format!("stdin closed after {n} events {of_call}"),
            ));
        }
        self
    }
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
        if self.close_stdin_after == Some(events) {
            self.close_stdin_after = None;
            let stdio = self.server.lock().await.stdio.clone();
            if let Some(stdio) = stdio {
                self.recorder.fault(
                    FaultMark::fired(self.close_stdin_id, None),
                    &CLOSE_STDIN,
                    format!("the server's stdin closed after {events} events"),
                );
                stdio.close_stdin().await;
                // As a client ending the session would: wait for the exit,
                // then SIGTERM, then SIGKILL, each after STDIO_EXIT_GRACE, so
                // a server that outlives its stdin ends the call in seconds
                // rather than at the call's time limit. The case's own
                // shutdown waits for this one (both hold the process's lock).
                tokio::spawn(async move {
                    stdio.shutdown(STDIO_EXIT_GRACE).await;
                });
            }
        }
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
        self.restart(&format!("{events} events")).await;
    }

    async fn after_task_poll(&mut self, polls: u32) {
        if self.done || self.after_polls != Some(polls) {
            return;
        }
        self.done = true;
        self.restart(&format!("{polls} task poll(s)")).await;
    }
}

impl RestartHook {
    /// SIGKILL the server and start it again (a target without a process of
    /// ours cannot be restarted: nothing happens).
    async fn restart(&self, after: &str) {
        let mut guard = self.server.lock().await;
        let server = &mut *guard;
        let limit = server.limits.start;
        let process = server.http.as_mut().and_then(|h| h.process.as_mut());
        if server.stdio.is_none() && process.is_none() {
            return;
        }
        self.recorder.fault(
            FaultMark::fired(self.kill_id, None),
            &KILL,
            format!("server SIGKILLed after {after}, restarting"),
        );
        let restarted = match (&server.stdio, process) {
            (Some(stdio), _) => stdio.restart().await,
            (None, Some(process)) => process.restart(limit).await,
            (None, None) => Ok(()),
        };
        if let Err(e) = restarted {
            self.recorder.note(format!("restart failed: {e}"));
        }
    }
}

/// `rule` with its selector's role replaced by the tool the profile binds to
/// it; `Err` when the profile binds none (the scenario's `needs` should have
/// skipped the case first).
pub fn resolve_rule(
    rule: &mcp_harness_chaos::FaultRule,
    profile: &Profile,
) -> Result<mcp_harness_chaos::FaultRule, String> {
    let mut rule = rule.clone();
    if let Some(role) = rule.select.role.take() {
        let bound = crate::scenario::Role::parse(&role).and_then(|r| profile.roles.get(&r));
        match bound {
            Some(binding) => rule.select.tool = Some(binding.tool.clone()),
            None => {
                return Err(format!(
                    "a fault selects the tool of role `{role}`, but the profile `{}` binds no tool to it (hint: add `[roles.{role}]` to the profile, or list the role in the scenario's `needs`)",
                    profile.name
                ));
            }
        }
    }
    Ok(rule)
}

/// Judge the steps' expectations. One that cites a rule is a finding of that
/// check, at its level in `version` (nothing where the version has no such
/// rule). One that cites nothing is the scenario's wish: `scenario.expectations`
/// fails on the built-in reference agents, whose behaviour the scenarios
/// specify, and is reported as skipped for any other server. The profile's
/// domain outcomes (`[[outcomes]]`) are judged as `profile.outcomes`.
fn judge_expectations(
    scenario: &str,
    version: &str,
    steps: &[StepResult],
    profile: &Profile,
    verdicts: &mut Vec<Verdict>,
) {
    let finding = |s: &StepResult, expected: &str| mcp_harness_checks::Finding {
        seq: None,
        observed: format!("step {}: {}", s.step, s.detail),
        expected: expected.into(),
    };
    let mut wishes = Vec::new();
    for s in steps.iter().filter(|s| !s.ok) {
        let Some(cited) = &s.cites else {
            wishes.push(finding(s, "what the scenario expects"));
            continue;
        };
        let Some(verdict) = verdicts.iter_mut().find(|v| &v.check == cited) else {
            continue;
        };
        if matches!(verdict.outcome, Outcome::Skipped(_)) {
            continue; // no such rule in this version
        }
        verdict
            .findings
            .push(finding(s, "what the cited rule requires"));
        verdict.examined = verdict.examined.max(1);
        verdict.outcome = match verdict.level {
            Level::Must => Outcome::Fail,
            Level::Should => Outcome::Warn.max(verdict.outcome.clone()),
        };
    }
    let outcome = if steps.is_empty() {
        Outcome::NotObserved
    } else if wishes.is_empty() {
        Outcome::Pass
    } else if profile.reference {
        Outcome::Fail
    } else {
        Outcome::Skipped(format!(
            "{} wish(es) of the scenario not met, not spec rules (first: {})",
            wishes.len(),
            wishes[0].observed
        ))
    };
    verdicts.push(Verdict {
        check: "scenario.expectations".into(),
        level: Level::Must,
        version: version.into(),
        citation: "the scenario file (its own wishes; rules are cited with `cites`)".into(),
        outcome,
        examined: steps.len(),
        findings: wishes,
    });
    if let Some(verdict) = profile.judge_outcomes(scenario, version, steps) {
        verdicts.push(verdict);
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
    let pool = ServerPool::single(target, limits.start);
    run_case_in(scenario, version, &pool, profile, limits, None).await
}

/// [`run_case`] on a server of `pool` (see [`crate::pool`]), also writing the
/// transcript to `record_to` as it happens (flushed every
/// [`mcp_harness_chaos::recorder::FLUSH_EVERY`]), so a harness killed mid-case
/// leaves what it saw.
pub async fn run_case_in(
    scenario: &ScenarioFile,
    version: &str,
    pool: &ServerPool,
    profile: &Profile,
    limits: Limits,
    record_to: Option<PathBuf>,
) -> CaseResult {
    let target = pool.target();
    let started = std::time::Instant::now();
    let mut case = CaseResult::new(&scenario.id, version);
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
    let transport = target.transport();
    if !scenario.scenario.transports.contains(&transport) {
        let named: Vec<&str> = scenario
            .scenario
            .transports
            .iter()
            .map(|t| t.name())
            .collect();
        case.skipped = Some(format!(
            "a scenario of {} only: this target speaks {}",
            named.join(" and "),
            transport.name()
        ));
        return case;
    }
    let work = run_steps(
        scenario, version, pool, profile, limits, record_to, &mut case,
    );
    // run_steps stops its script at the deadline and still collects the
    // transcript; this outer bound only guards set-up and tear-down.
    let backstop = limits.case + limits.start + Duration::from_secs(10);
    if tokio::time::timeout(backstop, work).await.is_err() {
        case.error = Some(format!("the case did not finish within {backstop:?}"));
    }
    let analysis = mcp_harness_checks::Analysis::of(&case.transcript);
    let mut verdicts = mcp_harness_checks::judge_analysis(&analysis);
    judge_expectations(&scenario.id, version, &case.steps, profile, &mut verdicts);
    verdicts.extend(crate::profile::judge_progress_role(
        profile, version, &analysis,
    ));
    case.verdicts = verdicts;
    case.resilience = mcp_harness_checks::resilience(&analysis);
    if case.skipped.is_none() {
        case.unexercised = mcp_harness_checks::unexercised_faults(&analysis);
    }
    case.duration_ms = started.elapsed().as_millis() as u64;
    case
}

/// A target opened for a look outside any case (`profile`): what to close
/// when done.
pub struct OpenedTarget {
    process: Option<TargetProcess>,
    stdio: Option<(Arc<StdioServer>, mcp_harness_chaos::StdioBridge)>,
    /// The reference agents' store, kept while they run.
    _store: Option<tempfile::TempDir>,
}

impl OpenedTarget {
    /// Stop what was started: kill the process, or end the stdio server
    /// (stdin closed, then SIGTERM, then SIGKILL).
    pub async fn close(self) {
        if let Some(mut process) = self.process {
            process.kill().await;
        }
        if let Some((stdio, bridge)) = self.stdio {
            stdio.shutdown(STDIO_EXIT_GRACE).await;
            drop(bridge);
        }
    }
}

/// Start `target` (a URL needs no start) for a look outside any case: what
/// to close afterwards, and the URL of its MCP endpoint (for a stdio target,
/// the bridge's).
pub async fn open_target(
    target: &Target,
    start: Duration,
) -> Result<(OpenedTarget, String), String> {
    if let Some(command) = target.stdio_command(None) {
        let limits = Limits {
            start,
            ..Limits::default()
        };
        let (front, server) = open_stdio_front(&command, limits, None).await?;
        let (Front::Stdio { bridge, .. }, Some(stdio)) = (front, server.stdio) else {
            unreachable!("open_stdio_front opens a stdio front and server");
        };
        let url = bridge.url().to_owned();
        let opened = OpenedTarget {
            process: None,
            stdio: Some((stdio, bridge)),
            _store: None,
        };
        return Ok((opened, url));
    }
    let started = crate::pool::start(target, start)
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("{}{}", started.base, started.path);
    let opened = OpenedTarget {
        process: started.process,
        stdio: None,
        _store: started.store,
    };
    Ok((opened, url))
}

/// Before any case: does `target` answer the first request of `version`
/// (`initialize`, or `server/discover` from 2026-07-28) within `limit`, set-up
/// included? A target that never does would make every case wait out its
/// time limits one after the other; `Err` says why, once, for all of them.
pub async fn preflight(target: &Target, version: &str, limit: Duration) -> Result<(), String> {
    if let Some(command) = target.stdio_command(None) {
        return preflight_stdio(&command, version, limit).await;
    }
    let check = async {
        let started = crate::pool::start(target, limit)
            .await
            .map_err(|e| e.to_string())?;
        let (process, url) = (started.process, format!("{}{}", started.base, started.path));
        let body = first_request(version);
        let method = body["method"].as_str().unwrap_or_default().to_owned();
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        // Any answer will do, an error status included: the point is that
        // something answers, not what (the cases judge that).
        let answered = async {
            let mut response = http
                .post(&url)
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .header("MCP-Protocol-Version", version)
                .json(&body)
                .send()
                .await
                .map_err(|e| format!("`{method}` to {url} failed: {e}"))?;
            // Headers alone are not an answer: wait for the first bytes (or the end).
            response
                .chunk()
                .await
                .map_err(|e| format!("the answer to `{method}` at {url} broke off: {e}"))?;
            if let Some(session) = response.headers().get("mcp-session-id").cloned() {
                let _ = http
                    .delete(&url)
                    .header("Mcp-Session-Id", session)
                    .send()
                    .await;
            }
            Ok::<(), String>(())
        };
        let result = match tokio::time::timeout(limit, answered).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "the target accepted `{method}` at {url} but did not answer within {limit:?}"
            )),
        };
        if let Some(mut process) = process {
            process.kill().await;
        }
        result
    };
    match tokio::time::timeout(limit * 2 + Duration::from_secs(5), check).await {
        Ok(result) => result,
        Err(_) => Err(format!("the target did not answer within {limit:?}")),
    }
}

/// What the scripted client talks to: the recording chaos proxy before an
/// HTTP server, or the bridge before a recorded stdio server.
enum Front {
    Http {
        stack: ChaosStack,
        path: String,
    },
    Stdio {
        bridge: mcp_harness_chaos::StdioBridge,
        recorder: Arc<mcp_harness_chaos::Recorder>,
    },
}

impl Front {
    fn recorder(&self) -> &Arc<mcp_harness_chaos::Recorder> {
        match self {
            Self::Http { stack, .. } => stack.recorder(),
            Self::Stdio { recorder, .. } => recorder,
        }
    }

    fn client_url(&self) -> String {
        match self {
            Self::Http { stack, path } => format!("{}{path}", stack.base_url()),
            Self::Stdio { bridge, .. } => bridge.url().to_owned(),
        }
    }

    fn stack(&self) -> Option<&ChaosStack> {
        match self {
            Self::Http { stack, .. } => Some(stack),
            Self::Stdio { .. } => None,
        }
    }

    async fn shutdown(self) {
        if let Self::Http { stack, .. } = self {
            stack.shutdown().await;
        }
    }
}

/// Put the chaos proxy before an HTTP target's server (the pool's, or one of
/// the case's own when `own` or the pool does not reuse).
async fn open_http_front(
    pool: &ServerPool,
    own: bool,
    limits: Limits,
    record_to: Option<PathBuf>,
) -> Result<(Front, Server), String> {
    let server = if own {
        crate::pool::start(pool.target(), limits.start).await
    } else {
        pool.take().await
    }
    .map_err(|e| e.to_string())?;
    let mut config = StackConfig::new(&server.base);
    config.record_limits = limits.records;
    config.proxy.max_event_bytes = limits.max_event_bytes;
    config.record = record_to;
    let path = server.path.clone();
    let stack = match ChaosStack::start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            pool.give_back(server, true).await;
            return Err(format!("the chaos proxy did not start: {e}"));
        }
    };
    let server = Server {
        http: Some(server),
        stdio: None,
        limits,
    };
    Ok((Front::Http { stack, path }, server))
}

/// Start a stdio target, recorded, and the bridge before it.
async fn open_stdio_front(
    command: &str,
    limits: Limits,
    record_to: Option<PathBuf>,
) -> Result<(Front, Server), String> {
    let recorder = mcp_harness_chaos::Recorder::with_limits(command, limits.records);
    if let Some(path) = &record_to {
        recorder.write_to(path).map_err(|e| e.to_string())?;
    }
    let (stdio, from_server) = StdioServer::start(command, recorder.clone())
        .await
        .map_err(|e| format!("the target did not start: {e}"))?;
    let bridge = mcp_harness_chaos::StdioBridge::start(stdio.clone(), from_server)
        .await
        .map_err(|e| format!("the stdio bridge did not start: {e}"))?;
    let server = Server {
        http: None,
        stdio: Some(stdio),
        limits,
    };
    Ok((Front::Stdio { bridge, recorder }, server))
}

/// [`preflight`] of a stdio target: does it answer the first request with a
/// line on stdout within `limit`?
async fn preflight_stdio(command: &str, version: &str, limit: Duration) -> Result<(), String> {
    let recorder = mcp_harness_chaos::Recorder::new(command);
    let (stdio, mut from_server) = StdioServer::start(command, recorder.clone())
        .await
        .map_err(|e| format!("the target did not start: {e}"))?;
    let first = first_request(version);
    let answered = async {
        // A process that already exited refuses the write; what it did is
        // then told by its stdout closing, as for one that exits after
        // reading the request, whichever comes first.
        let refused = match stdio.send(&first.to_string()).await {
            Ok(()) => String::new(),
            Err(e) => format!(", and refused the first request ({e})"),
        };
        // Any message will do (lines that are not messages are for the cases to judge).
        loop {
            match from_server.recv().await {
                Some(mcp_harness_chaos::FromServer::Message(..)) => return Ok(()),
                Some(mcp_harness_chaos::FromServer::NotJson(_)) => continue,
                _ => {
                    return Err(format!(
                        "`{command}` closed its stdout without answering{refused} (hint: does it speak stdio?)"
                    ));
                }
            }
        }
    };
    let result = match tokio::time::timeout(limit, answered).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "`{command}` did not answer the first request on stdout within {limit:?}"
        )),
    };
    stdio.shutdown(STDIO_EXIT_GRACE).await;
    result.map_err(|cause| {
        let stderr: Vec<String> = recorder
            .transcript()
            .records
            .into_iter()
            .filter_map(|r| match r.event {
                WireEvent::Stderr { text, .. } => Some(text),
                _ => None,
            })
            .collect();
        let tail = stderr[stderr.len().saturating_sub(10)..].join("\n");
        if tail.is_empty() {
            cause
        } else {
            format!("{cause}; its stderr ends with:\n{tail}")
        }
    })
}

/// The first request of `version`: `initialize`, or `server/discover` from 2026-07-28.
fn first_request(version: &str) -> Value {
    let (method, params) = if crate::client::MODERN <= version {
        (
            "server/discover",
            json!({"_meta": {"io.modelcontextprotocol/protocolVersion": version}}),
        )
    } else {
        (
            "initialize",
            json!({"protocolVersion": version, "capabilities": {},
                "clientInfo": {"name": "mcp-harness-preflight", "version": env!("CARGO_PKG_VERSION")}}),
        )
    };
    json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
}

async fn run_steps(
    scenario: &ScenarioFile,
    version: &str,
    pool: &ServerPool,
    profile: &Profile,
    limits: Limits,
    record_to: Option<PathBuf>,
    case: &mut CaseResult,
) {
    // The case's time limit counts from here, set-up included.
    let deadline = tokio::time::Instant::now() + limits.case;
    // The reference agents over stdio keep their runs in a store of the
    // case's; an HTTP target's server has its own (see `pool`).
    let store = matches!(pool.target(), Target::ReferenceStdio { .. })
        .then(|| tempfile::tempdir().ok())
        .flatten();
    // A case that kills, restarts or closes the stdin of its server needs
    // one of its own; the others share the pool's.
    let own = scenario.scenario.needs_own_process() || profile.fresh_process;
    let opened = match pool.target().stdio_command(store.as_ref()) {
        Some(command) => open_stdio_front(&command, limits, record_to).await,
        None => open_http_front(pool, own, limits, record_to).await,
    };
    let (front, server) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            case.error = Some(e);
            return;
        }
    };
    let recorder = front.recorder().clone();
    // Where a server the harness started listens (transport.binds_localhost).
    let listening = server
        .http
        .as_ref()
        .and_then(|http| http.process.as_ref())
        .and_then(TargetProcess::listen_addresses)
        .filter(|addresses| !addresses.is_empty());
    if let Some(addresses) = listening {
        recorder.record(WireEvent::Listening { addresses });
    }
    let server = Arc::new(Mutex::new(server));
    let mut faults = FaultDriver::new(
        &scenario.scenario.faults,
        front.stack(),
        &server,
        &recorder,
        profile,
    );
    if let Err(e) = faults.at_start().await {
        case.error = Some(e);
    }
    let accept = profile
        .roles
        .values()
        .find_map(|r| r.accept_content.clone())
        .unwrap_or_else(|| json!({}));
    let mut client = ScriptedClient::new(
        &front.client_url(),
        version,
        scenario.scenario.client.clone(),
        accept,
    );
    client.set_call_limit(limits.call);
    client.set_start_limit(limits.start);
    recorder.note(format!("scenario {} under {version}", scenario.id));
    let mut steps = Vec::new();
    // Every session lives until the transcript is taken (their GET streams too).
    let mut sessions: BTreeMap<String, ScriptedClient> = BTreeMap::new();
    let mut refused_at_start = false;
    let script = async {
        let connected = client.connect().await;
        let unsupported = match &connected {
            Ok(answer) => unsupported_version(answer, version),
            Err(_) => Ok(None),
        };
        match unsupported {
            Ok(Some(reason)) => return (Some(reason), None, false),
            Err(broken) => return (None, Some(broken), false),
            Ok(None) => {}
        }
        let answer = match connected {
            Ok(answer) => answer,
            Err(e) => {
                // A first request that got no answer in time is a time limit;
                // a refusal or a broken answer is not.
                let timed_out = matches!(e, ClientError::TimedOut(_));
                refused_at_start = matches!(e, ClientError::Refused(_));
                return (
                    None,
                    Some(format!("could not start a session: {e}")),
                    timed_out,
                );
            }
        };
        if let Some(missing) = scenario.scenario.needs_capabilities.iter().find(|c| {
            // A capability, or an extension by its identifier (`io.modelcontextprotocol/tasks`).
            answer
                .pointer("/result/capabilities")
                .and_then(|caps| {
                    caps.get(c.as_str())
                        .or_else(|| caps.get("extensions")?.get(c.as_str()))
                })
                .is_none()
        }) {
            return (
                Some(format!(
                    "the target did not declare the `{missing}` capability"
                )),
                None,
                false,
            );
        }
        sessions.insert(MAIN_SESSION.to_owned(), client);
        let mut script = Script {
            sessions: &mut sessions,
            calls: BTreeMap::new(),
            recorder: &recorder,
            server: &server,
            profile,
            faults,
            needs_resumption: scenario.scenario.needs_resumption
                && !mcp_harness_checks::is_modern_version(version),
            skipped: None,
            timed_out: false,
        };
        for (n, step) in scenario.scenario.steps.iter().enumerate() {
            if let Err(e) = script.faults.at_step(n + 1).await {
                steps.push(step_result(n + 1, false, e));
            }
            let mut result = script.run_step(n + 1, step).await;
            result.cites = step.cites().map(str::to_owned);
            steps.push(result);
            if script.skipped.is_some() {
                break;
            }
        }
        (script.skipped, None, script.timed_out)
    };
    match tokio::time::timeout_at(deadline, script).await {
        Ok((skipped, error, timed_out)) => {
            case.skipped = skipped;
            case.timed_out = timed_out;
            case.refused_at_start = refused_at_start;
            if error.is_some() {
                case.error = error;
            }
        }
        Err(_) => {
            case.timed_out = true;
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
    // A stdio server ends as the spec's shutdown says (stdin closed, then
    // SIGTERM, then SIGKILL), each step recorded for stdio.exits_on_stdin_close.
    let stdio = server.lock().await.stdio.clone();
    if let Some(stdio) = stdio {
        stdio.shutdown(STDIO_EXIT_GRACE).await;
        tokio::time::sleep(Duration::from_millis(20)).await; // let the readers record the pipes' ends
    }
    if !own
        && let Some(http) = server.lock().await.http.as_mut()
        && let Some(how) = http.exited()
    {
        recorder.note(format!(
            "the server process exited during the case ({how}); the next case starts another"
        ));
    }
    case.transcript = recorder.transcript();
    if !recorder.is_complete() {
        case.error = Some(format!(
            "the server sent more than a case may record ({} records or {} MB kept, {} more dropped); the checks judged the first part only",
            limits.records.max_records,
            limits.records.max_bytes >> 20,
            recorder.dropped()
        ));
    }
    front.shutdown().await;
    if let Some(mut http) = server.lock().await.http.take() {
        if own {
            if let Some(process) = http.process.as_mut() {
                process.kill().await;
            }
        } else {
            // A server that may be wedged (the case ended at a time limit)
            // is not given to the next case.
            pool.give_back(http, !case.timed_out).await;
        }
    }
}

/// Why the server's answer to `initialize` / `server/discover` means it does not
/// speak `version`: `Ok(Some(reason))` skips the case (another real version is
/// the server's right), `Err` fails it (a version that does not exist, a
/// refused `initialize` or one answered without a version is a broken answer).
fn unsupported_version(answer: &Value, version: &str) -> Result<Option<String>, String> {
    if let Some(error) = answer.get("error") {
        if version >= crate::client::MODERN {
            return Ok(Some(format!(
                "the target does not support {version}: server/discover answered {error}"
            )));
        }
        // A server that does not support the version answers with one it
        // does (basic/lifecycle#version-negotiation): a refusal ends the case.
        return Err(format!(
            "initialize was refused: {error} (a server answers an initialize it cannot serve with the protocol version it supports, basic/lifecycle#version-negotiation)"
        ));
    }
    let Some(negotiated) = answer
        .pointer("/result/protocolVersion")
        .and_then(Value::as_str)
    else {
        if version >= crate::client::MODERN {
            return Ok(None);
        }
        return Err(format!(
            "initialize was answered without a protocolVersion: {answer} (basic/lifecycle#initialization)"
        ));
    };
    if !mcp_harness_checks::analysis::KNOWN_VERSIONS.contains(&negotiated) {
        return Err(format!(
            "the server negotiated `{negotiated}`, which is no MCP protocol version (hint: it must answer with the requested version or another it supports)"
        ));
    }
    Ok((negotiated != version)
        .then(|| format!("the target negotiated {negotiated} instead of {version}")))
}

/// `http://host:port` and the path of `url`.
pub fn split_url(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => (
            url[..after_scheme + slash].to_owned(),
            url[after_scheme + slash..].to_owned(),
        ),
        None => (url.to_owned(), "/".to_owned()),
    }
}

/// The text blocks of a tool result, joined.
fn result_text(result: &Value) -> String {
    result
        .get("content")
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// `value` as JSON text, cut to 200 characters.
fn short_json(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// `text` as one word for `sh`.
pub fn shell_quote(text: &str) -> String {
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
    let text = outcome.result.as_ref().map(result_text).unwrap_or_default();
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

/// The session every scenario starts with.
const MAIN_SESSION: &str = "main";

/// What a named call left for later steps.
#[derive(Debug, Clone)]
struct NamedCall {
    session: String,
    request_id: i64,
    first_event_id: Option<String>,
    last_event_id: Option<String>,
}

/// The state of a scenario being played: its client sessions, its named
/// calls, and what it drives (proxy, server).
struct Script<'a> {
    sessions: &'a mut BTreeMap<String, ScriptedClient>,
    calls: BTreeMap<String, NamedCall>,
    recorder: &'a Arc<mcp_harness_chaos::Recorder>,
    server: &'a Arc<Mutex<Server>>,
    profile: &'a Profile,
    /// The scenario's faults, put in force and cleared at their steps.
    faults: FaultDriver<'a>,
    /// Skip the case when a call gets no event id (see `Scenario::needs_resumption`).
    needs_resumption: bool,
    /// Why the rest of the case is skipped, once that is known.
    skipped: Option<String>,
    /// A call of the case ended at its time limit.
    timed_out: bool,
}

fn step_result(step: usize, ok: bool, detail: String) -> StepResult {
    StepResult {
        step,
        ok,
        detail,
        cites: None,
        result_text: None,
    }
}

impl Script<'_> {
    fn main(&mut self) -> &mut ScriptedClient {
        self.sessions
            .get_mut(MAIN_SESSION)
            .expect("the main session is never removed")
    }

    /// The client of session `name`, started (initialize or discover) on first use.
    async fn session(&mut self, name: &str) -> Result<&mut ScriptedClient, String> {
        if !self.sessions.contains_key(name) {
            let mut client = self.main().sibling();
            client
                .connect()
                .await
                .map_err(|e| format!("session `{name}` could not start: {e}"))?;
            self.sessions.insert(name.to_owned(), client);
        }
        Ok(self.sessions.get_mut(name).expect("inserted above"))
    }

    fn hooks(&self, call: &CallStep) -> RestartHook {
        RestartHook {
            server: self.server.clone(),
            close_stdin_after: call.close_stdin_after_events,
            after: call.restart_after_events,
            after_polls: call.restart_after_task_polls,
            after_server_events: call.restart_after_server_events,
            done: false,
            recorder: self.recorder.clone(),
            kill_id: None,
            close_stdin_id: None,
        }
        .declare(call)
    }

    fn remember(&mut self, call: &CallStep, session: &str, outcome: &CallOutcome) {
        self.timed_out |= outcome.timed_out;
        if self.needs_resumption
            && self.skipped.is_none()
            && outcome.first_event_id.is_none()
            && outcome.last_event_id.is_none()
        {
            self.skipped = Some(format!(
                "the server offers no resumption: the stream of call {} carried no event ids",
                outcome.request_id
            ));
        }
        if let Some(name) = &call.name {
            self.calls.insert(
                name.clone(),
                NamedCall {
                    session: session.to_owned(),
                    request_id: outcome.request_id,
                    first_event_id: outcome.first_event_id.clone(),
                    last_event_id: outcome.last_event_id.clone(),
                },
            );
        }
    }

    async fn run_step(&mut self, n: usize, step: &Step) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        match step {
            Step::Call(call) => {
                let call = &*self.faults.with_process_faults(call);
                let session = call.session.as_deref().unwrap_or(MAIN_SESSION).to_owned();
                let mut hooks = self.hooks(call);
                let profile = self.profile;
                let client = match self.session(&session).await {
                    Ok(client) => client,
                    Err(e) => return done(false, e),
                };
                let (ok, detail, outcome) = play_call(client, call, profile, &mut hooks).await;
                let mut result = done(ok, detail);
                if let Some(outcome) = &outcome {
                    self.remember(call, &session, outcome);
                    result.result_text = outcome.result.as_ref().map(result_text);
                }
                result
            }
            Step::Parallel { calls } => {
                let calls: Vec<CallStep> = calls
                    .iter()
                    .map(|call| self.faults.with_process_faults(call).into_owned())
                    .collect();
                let calls = &calls;
                let mut clients = Vec::with_capacity(calls.len());
                for call in calls {
                    let session = call.session.as_deref().unwrap_or(MAIN_SESSION).to_owned();
                    match self.session(&session).await {
                        Ok(client) => clients.push((session, client.fork())),
                        Err(e) => return done(false, e),
                    }
                }
                let profile = self.profile;
                let runs = calls
                    .iter()
                    .zip(clients)
                    .map(|(call, (session, mut client))| {
                        let mut hooks = self.hooks(call);
                        async move {
                            let played = play_call(&mut client, call, profile, &mut hooks).await;
                            (session, played)
                        }
                    });
                let played = futures::future::join_all(runs).await;
                let mut ok = true;
                let mut details = Vec::new();
                for (call, (session, (call_ok, detail, outcome))) in calls.iter().zip(played) {
                    ok &= call_ok;
                    details.push(detail);
                    if let Some(outcome) = &outcome {
                        self.remember(call, &session, outcome);
                    }
                }
                done(
                    ok,
                    format!("{} calls at once: {}", calls.len(), details.join("; ")),
                )
            }
            Step::Resume {
                of,
                from,
                last_event_id,
                session,
                wait_ms,
                expect,
            } => {
                let named = match of {
                    Some(name) => match self.calls.get(name) {
                        Some(named) => Some(named.clone()),
                        None => {
                            return done(
                                false,
                                format!(
                                    "`of = \"{name}\"` names no earlier call (hint: give a call `name = \"{name}\"`)"
                                ),
                            );
                        }
                    },
                    None => None,
                };
                let id = match (last_event_id, &named) {
                    (Some(literal), _) => literal.clone(),
                    (None, Some(named)) => {
                        let id = match from {
                            ResumeFrom::Last => named.last_event_id.clone(),
                            ResumeFrom::First => named.first_event_id.clone(),
                        };
                        match id {
                            Some(id) => id,
                            None => {
                                return done(
                                    true,
                                    "the call received no event id: there is nothing to resume from (the server offers no resumption)".into(),
                                );
                            }
                        }
                    }
                    (None, None) => {
                        return done(false, "a resume step needs `of` or `last_event_id`".into());
                    }
                };
                let who = session
                    .clone()
                    .or_else(|| named.as_ref().map(|c| c.session.clone()))
                    .unwrap_or_else(|| MAIN_SESSION.to_owned());
                let request = named.as_ref().map(|c| c.request_id);
                let client = match self.session(&who).await {
                    Ok(client) => client,
                    Err(e) => return done(false, e),
                };
                match client
                    .resume_once(&id, request, Duration::from_millis(*wait_ms))
                    .await
                {
                    Ok(probe) => {
                        let got = if probe.response.is_some() {
                            "the call's response"
                        } else {
                            "no response"
                        };
                        let ok = *expect == ResumeExpect::Any || probe.response.is_some();
                        let mut detail = format!(
                            "resume from {id:?} as session {who}: HTTP {}, {got}",
                            probe.status
                        );
                        if !ok {
                            detail.push_str(" (expected the call's response)");
                        }
                        done(ok, detail)
                    }
                    Err(e) => done(
                        *expect == ResumeExpect::Any,
                        format!("resume from {id:?}: {e}"),
                    ),
                }
            }
            Step::Load {
                sessions,
                tool,
                arguments,
            } => {
                let Some(binding) = self.profile.resolve(tool) else {
                    return done(false, format!("the profile has no tool for `{tool}`"));
                };
                let arguments = arguments.clone().unwrap_or(binding.arguments);
                let template = self.main().sibling();
                let runs = (0..*sessions).map(|i| {
                    let mut client = template.sibling();
                    let tool = binding.tool.clone();
                    let arguments = arguments.clone();
                    async move {
                        if let Err(e) = client.connect().await {
                            return LoadOutcome::Refused(format!("session {}: {e}", i + 1));
                        }
                        let token = json!(format!("load-{}", i + 1));
                        match client
                            .call(&tool, &arguments, Some(&token), &mut NoHooks)
                            .await
                        {
                            Ok(outcome) if outcome.result.is_some() || outcome.error.is_some() => {
                                LoadOutcome::Completed
                            }
                            Ok(outcome) if outcome.refused => LoadOutcome::Refused(format!(
                                "session {}: {}",
                                i + 1,
                                outcome.gave_up.unwrap_or_default()
                            )),
                            Ok(outcome) => LoadOutcome::Lost(format!(
                                "session {}: {}",
                                i + 1,
                                outcome.gave_up.unwrap_or_else(|| "no result".into())
                            )),
                            Err(e) => LoadOutcome::Refused(format!("session {}: {e}", i + 1)),
                        }
                    }
                });
                let outcomes = futures::future::join_all(runs).await;
                let (mut completed, mut refused, mut lost) = (0, Vec::new(), Vec::new());
                for outcome in &outcomes {
                    match outcome {
                        LoadOutcome::Completed => completed += 1,
                        LoadOutcome::Refused(why) => refused.push(why),
                        LoadOutcome::Lost(why) => lost.push(why),
                    }
                }
                let mut detail = format!(
                    "{sessions} sessions calling {}: {completed} completed, {} refused, {} accepted but never answered",
                    binding.tool,
                    refused.len(),
                    lost.len()
                );
                if let Some(first) = refused.first() {
                    detail.push_str(&format!("; first refused: {first}"));
                }
                if let Some(first) = lost.first() {
                    detail.push_str(&format!("; first lost: {first}"));
                }
                // Refusals are the server's right under load (judged by the checks);
                // an accepted call that never completes is not.
                done(lost.is_empty(), detail)
            }
            Step::Raw {
                method,
                headers,
                session,
                body,
                text_body,
                expect_status,
                expect_status_in,
                cites: _,
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
                match self
                    .main()
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
            Step::Request {
                method,
                params,
                expect,
                cites: _,
            } => match self.main().send_request(method, params.as_ref()).await {
                Ok(answer) => {
                    let (ok, got) = match (answer.get("error"), expect) {
                        (Some(error), AnswerExpect::Error | AnswerExpect::Any) => {
                            (true, format!("error {}", error["code"]))
                        }
                        (Some(error), AnswerExpect::Result) => {
                            (false, format!("error {}", short_json(error)))
                        }
                        (None, AnswerExpect::Error) => (
                            false,
                            format!("a result: {}", short_json(&answer["result"])),
                        ),
                        (None, _) => (true, "a result".to_owned()),
                    };
                    done(
                        ok,
                        format!("{method} answered with {got} (expected {expect:?})"),
                    )
                }
                Err(e) => done(false, format!("{method}: {e}")),
            },
            Step::Discover { what, first } => {
                match crate::discovery::walk(self.main(), *what, *first).await {
                    Ok(line) => done(true, line),
                    Err(line) => done(false, line),
                }
            }
            Step::DeleteSession => match self.main().delete_session().await {
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
            // The loader turns these into `[[faults]]` entries; a scenario
            // built in code writes entries.
            Step::Pipe { .. }
            | Step::Fault { .. }
            | Step::Network { .. }
            | Step::Toxic { .. }
            | Step::RemoveToxic { .. } => done(
                false,
                "a fault step of the old form: write a `[[faults]]` entry with `from_step` (scenario::faults::upgrade_old_forms turns a file's into one)".into(),
            ),
            Step::OpenGetStream { session } => match self
                .session(session.as_deref().unwrap_or(MAIN_SESSION))
                .await
            {
                Err(e) => done(false, e),
                Ok(client) => match client.open_get_stream().await {
                    Ok(status) => done(
                        status == 200 || status == 405,
                        format!(
                            "GET stream answered {status} (expected 200, or 405 if not offered)"
                        ),
                    ),
                    Err(e) => done(false, format!("GET stream: {e}")),
                },
            },
            Step::Listen { notifications } => match self.main().listen(notifications).await {
                Ok((status, acknowledged)) => done(
                    status == 200 && acknowledged,
                    format!(
                        "subscriptions/listen answered {status}, {} (expected 200 and an acknowledgement)",
                        if acknowledged {
                            "acknowledged"
                        } else {
                            "no acknowledgement within 2 s"
                        }
                    ),
                ),
                Err(e) => done(false, format!("subscriptions/listen: {e}")),
            },
            Step::AwaitNotifications { count, within_ms } => {
                let arrived = self
                    .main()
                    .await_notifications(*count, Duration::from_millis(*within_ms))
                    .await;
                done(
                    arrived,
                    format!(
                        "{} notification(s) on the listen streams {} within {within_ms} ms",
                        count,
                        if arrived { "arrived" } else { "did not arrive" }
                    ),
                )
            }
        }
    }
}

enum LoadOutcome {
    Completed,
    Refused(String),
    Lost(String),
}

/// Make one call and judge how it ended: (ok, detail, the outcome if the call ran).
async fn play_call(
    client: &mut ScriptedClient,
    call: &CallStep,
    profile: &Profile,
    hooks: &mut RestartHook,
) -> (bool, String, Option<CallOutcome>) {
    let Some(binding) = profile.resolve(&call.tool) else {
        return (
            false,
            format!("the profile has no tool for `{}`", call.tool),
            None,
        );
    };
    let arguments = call.arguments.clone().unwrap_or(binding.arguments);
    client.set_log_level(call.log_level.clone());
    client.set_first_retry(call.first_retry);
    client.set_cancel_task_after_polls(call.cancel_task_after_polls);
    client.set_intruder_after_polls(call.intruder_after_polls);
    match client
        .call(
            &binding.tool,
            &arguments,
            call.progress_token.as_ref(),
            hooks,
        )
        .await
    {
        Ok(outcome) => {
            let (ok, detail) = judge_call(
                &outcome,
                call.expect,
                call.expect_text.as_deref(),
                profile.reference,
            );
            (
                ok,
                format!("call {}: {detail}", binding.tool),
                Some(outcome),
            )
        }
        Err(e) => (false, format!("call {}: {e}", binding.tool), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_harness_chaos::{FaultRule, StreamFault, StreamSelector};

    fn by_role(role: &str) -> FaultRule {
        FaultRule {
            select: StreamSelector {
                role: Some(role.into()),
                occurrence: Some(1),
                ..StreamSelector::default()
            },
            fault: StreamFault::Cut { after: 2 },
        }
    }

    #[test]
    fn a_role_selector_becomes_the_tool_the_profile_binds() {
        let mut profile = Profile::none("their-server");
        profile.roles.insert(
            crate::scenario::Role::Elicits,
            crate::profile::RoleBinding {
                tool: "book_trip".into(),
                arguments: json!({}),
                accept_content: None,
            },
        );
        let rule = resolve_rule(&by_role("elicits"), &profile).unwrap();
        assert_eq!(rule.select.tool.as_deref(), Some("book_trip"));
        assert_eq!(rule.select.role, None);
        assert_eq!(rule.select.occurrence, Some(1));
        let reference = resolve_rule(&by_role("elicits"), &Profile::reference_agents()).unwrap();
        assert_eq!(reference.select.tool.as_deref(), Some("travel_agent"));
    }

    #[test]
    fn a_role_the_profile_does_not_bind_is_an_error_not_a_silent_no_op() {
        let err = resolve_rule(&by_role("samples"), &Profile::none("bare")).unwrap_err();
        assert!(
            err.contains("role `samples`") && err.contains("`bare`"),
            "{err}"
        );
        let unresolved = by_role("elicits");
        let info = mcp_harness_chaos::ExchangeInfo::describe(
            "POST",
            Some(&json!({"method": "tools/call", "params": {"name": "travel_agent"}})),
            false,
        );
        assert!(
            !unresolved.select.matches(&info),
            "an unresolved role matches nothing"
        );
    }
}
