//! Running one scenario under one protocol version against one target:
//! take a server from the pool (`pool.rs`), put the chaos proxy or the stdio
//! bridge in front (`front.rs`), put the faults in force (`faults.rs`), play
//! the steps (`script.rs` dispatches to `steps/`, a file per step family; a
//! call's restarts and stdin closes are `restart.rs`), then judge the
//! transcript. This file holds the case: its target, limits and result.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcp_harness_chaos::TargetProcess;
use mcp_harness_checks::{Outcome, Verdict};
use mcp_harness_wire::{Transcript, WireEvent};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

mod faults;
mod front;
mod restart;
mod script;
mod steps;

use faults::FaultDriver;
pub use front::{
    FrontError, OpenedTarget, PreflightError, open_target, preflight, shell_quote, split_url,
};
use front::{VersionAnswer, open_http_front, open_stdio_front, version_answer};
use restart::Server;
use script::{MAIN_SESSION, Script, step_result};

use crate::client::{ClientError, ScriptedClient};
use crate::pool::ServerPool;
use crate::profile::Profile;
use crate::scenario::{ScenarioFile, Transport};

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

/// How long the reference agents wait for the answer to a question they ask
/// (an elicitation, a sampling request) before they end the call with an
/// error result: their `--input-timeout`. Other targets keep their own.
///
/// A case's answers can be slow on a loaded machine, so only a case whose
/// subject is that give-up gets the short one; for every other case it is
/// longer than the call limit and can never fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputTimeout {
    /// 60 s, past the call limit: the default.
    Patient,
    /// 1 s: the case waits for the server to give up on a client that never
    /// answers (its scenario sets the client's `give_up_after_ms`).
    Short,
}

impl InputTimeout {
    /// The one `scenario` needs.
    pub fn for_scenario(scenario: &crate::scenario::Scenario) -> Self {
        if scenario.client.give_up_after_ms.is_some() {
            Self::Short
        } else {
            Self::Patient
        }
    }

    /// The value of `serve --input-timeout`.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Patient => "60s",
            Self::Short => "1s",
        }
    }
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
    /// their runs in `store` and wait `input_timeout` for answers), if it is one.
    fn stdio_command(
        &self,
        store: Option<&tempfile::TempDir>,
        input_timeout: InputTimeout,
    ) -> Option<String> {
        match self {
            Self::StdioCommand { command } => Some(command.clone()),
            Self::ReferenceStdio { exe } => {
                let store_path = store
                    .map(|d| d.path().join("agents.db"))
                    .unwrap_or_else(|| PathBuf::from("memory"));
                Some(format!(
                    "{} serve --stdio --time-scale 0 --input-timeout {} --store {}",
                    shell_quote(&exe.display().to_string()),
                    input_timeout.flag(),
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

/// The result of one step (judged in `checks`, which owns the type).
pub use mcp_harness_checks::StepResult;

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
    /// The target answered the first request with another protocol version
    /// (or refused 2026-07-28's `server/discover`): it does not serve this
    /// one, and `skipped` says so.
    #[serde(skip)]
    pub version_not_served: bool,
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
            version_not_served: false,
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

/// A fault selects the tool of a role the profile binds to no tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a fault selects the tool of role `{role}`, but the profile `{profile}` binds no tool to it (hint: add `[roles.{role}]` to the profile, or list the role in the scenario's `needs`)"
)]
pub struct UnboundRole {
    /// The role the fault selects.
    pub role: String,
    /// The profile's name.
    pub profile: String,
}

/// `rule` with its selector's role replaced by the tool the profile binds to
/// it; `Err` when the profile binds none (the scenario's `needs` should have
/// skipped the case first).
pub fn resolve_rule(
    rule: &mcp_harness_chaos::FaultRule,
    profile: &Profile,
) -> Result<mcp_harness_chaos::FaultRule, UnboundRole> {
    let mut rule = rule.clone();
    if let Some(role) = rule.select.role.take() {
        let bound = crate::scenario::Role::parse(&role).and_then(|r| profile.roles.get(&r));
        match bound {
            Some(binding) => rule.select.tool = Some(binding.tool.clone()),
            None => {
                return Err(UnboundRole {
                    role,
                    profile: profile.name.clone(),
                });
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
    mcp_harness_checks::expectations::judge_expectations(
        steps,
        version,
        profile.reference,
        verdicts,
    );
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
    if scenario.scenario.needs_credentials && !pool.headers().has_authorization() {
        case.skipped = Some(
            "a scenario of a protected server: the run carries no credential (--bearer-token, MCP_HARNESS_BEARER_TOKEN or --header 'Authorization: ...')"
                .to_owned(),
        );
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
    let input_timeout = InputTimeout::for_scenario(&scenario.scenario);
    let opened = match pool.target().stdio_command(store.as_ref(), input_timeout) {
        Some(command) => open_stdio_front(&command, limits, record_to).await,
        None => open_http_front(pool, own, input_timeout, limits, record_to).await,
    };
    let (front, server) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            case.error = Some(e.to_string());
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
        case.error = Some(e.to_string());
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
    client.set_headers(pool.headers());
    client.set_call_limit(limits.call);
    client.set_start_limit(limits.start);
    recorder.note(format!("scenario {} under {version}", scenario.id));
    let mut steps = Vec::new();
    // Every session lives until the transcript is taken (their GET streams too).
    let mut sessions: BTreeMap<String, ScriptedClient> = BTreeMap::new();
    let mut refused_at_start = false;
    let mut version_not_served = false;
    let script = async {
        let connected = client.connect().await;
        let spoken = match &connected {
            Ok(answer) => version_answer(answer, version),
            Err(_) => VersionAnswer::Served,
        };
        match spoken {
            VersionAnswer::NotServed(reason) => {
                version_not_served = true;
                return (Some(reason), None, false);
            }
            VersionAnswer::Broken(broken) => return (None, Some(broken), false),
            VersionAnswer::Served => {}
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
            get_streams: BTreeMap::new(),
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
                steps.push(step_result(n + 1, false, e.to_string()));
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
            case.version_not_served = version_not_served;
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
        let err = resolve_rule(&by_role("samples"), &Profile::none("bare"))
            .unwrap_err()
            .to_string();
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
