//! Scenario files: what to run against a target, in TOML. Parsing reports the
//! file, line and field of a mistake; a JSON Schema generated from these types
//! lets editors check files as they are written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use mcp_harness_chaos::FaultRule;

pub mod faults;
pub mod renamed;
pub use faults::{FaultEntry, FaultWhat, ProcessTrigger};

/// A role a target's tool plays; profiles map roles to tools.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A tool that sends progress notifications.
    Progress,
    /// A tool that asks the user through elicitation.
    Elicits,
    /// A tool that asks the host's model through sampling.
    Samples,
    /// A tool that runs many steps and logs.
    LongRunning,
    /// A tool that asks several questions at once, and over more than one
    /// round (2026-07-28 multi round-trip requests; roots among them).
    MultiRound,
    /// A tool whose call makes the server send notifications outside any
    /// request, on the session's standalone GET stream (log messages, list
    /// changes): 20 or more, for the GET-stream cases (2025 eras).
    Notifies,
}

/// How the scripted client answers an elicitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ElicitationAnswer {
    /// Accept with this content (the profile's default content when absent).
    Accept {
        /// The form content.
        #[serde(default)]
        content: Option<Value>,
    },
    /// Decline.
    Decline,
    /// Cancel (dismiss).
    Cancel,
    /// Answer with a JSON-RPC error.
    Error,
    /// Never answer.
    Silence,
}

/// How the scripted client answers a sampling request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SamplingAnswer {
    /// Answer with this text.
    Text(String),
    /// Answer with a JSON-RPC error.
    Error,
    /// Never answer.
    Silence,
}

/// The scripted client's behaviour in a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Capabilities the client declares (`elicitation`, `sampling`, `tasks`).
    #[serde(default = "default_capabilities")]
    pub capabilities: Vec<String>,
    /// Answer to elicitation requests.
    #[serde(default = "default_elicitation")]
    pub elicitation: ElicitationAnswer,
    /// Answer to sampling requests.
    #[serde(default = "default_sampling")]
    pub sampling: SamplingAnswer,
    /// How long to wait after a cut before resuming (or re-issuing), ms.
    #[serde(default)]
    pub resume_delay_ms: u64,
    /// Most resumes in a row that bring nothing new, per call (a resume that
    /// brought events before its stream ended is progress and does not
    /// count); in 2026-07-28, most re-issues per call.
    #[serde(default = "default_max_resumes")]
    pub max_resumes: u32,
    /// Rules the client breaks on purpose (client fixtures, and servers'
    /// handling of such clients).
    #[serde(default)]
    pub misbehave: Vec<ClientFault>,
    /// Stop waiting for a call's result after this many ms (at most the call
    /// limit): for a case whose subject is a wait, such as a client that never
    /// answers the server's question, the wait it needs and no longer. Giving
    /// up is the scenario's choice, not a time limit reached. The built-in
    /// reference agents give up on an unanswered question after 1 s in such
    /// a case, and never within the call limit in any other.
    #[serde(default)]
    pub give_up_after_ms: Option<u64>,
}

/// A rule the scripted client breaks on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientFault {
    /// Send no MCP-Protocol-Version header after initialize.
    OmitVersionHeader,
    /// Resume from the first event id of the stream, not the last.
    ResumeFromFirstEvent,
    /// Reconnect at once, whatever `retry:` said.
    IgnoreRetry,
    /// Answer every server request twice.
    AnswerTwice,
    /// Send notifications/cancelled for a call whose stream was cut.
    CancelOnDisconnect,
    /// Accept an elicitation with content that breaks its schema.
    InvalidElicitationAnswer,
    /// Answer sampling without the model.
    MalformedSamplingResult,
    /// After a 404, keep using the dead session.
    ReuseExpiredSession,
    /// POST bytes that are not JSON before initializing.
    SendGarbage,
    /// Leave the session open at the end (no DELETE).
    NoDelete,
    /// 2026-07-28: give up on a call whose stream broke instead of
    /// re-issuing it.
    NoReissue,
    /// 2026-07-28: send no `Mcp-Method` and `Mcp-Name` headers.
    OmitMcpHeaders,
}

fn default_capabilities() -> Vec<String> {
    vec!["elicitation".into(), "sampling".into()]
}
fn default_elicitation() -> ElicitationAnswer {
    ElicitationAnswer::Accept { content: None }
}
fn default_sampling() -> SamplingAnswer {
    SamplingAnswer::Text("The key findings are steady progress and open questions.".into())
}
fn default_max_resumes() -> u32 {
    3
}

impl Default for ClientSpec {
    fn default() -> Self {
        Self {
            capabilities: default_capabilities(),
            elicitation: default_elicitation(),
            sampling: default_sampling(),
            resume_delay_ms: 0,
            max_resumes: default_max_resumes(),
            misbehave: Vec::new(),
            give_up_after_ms: None,
        }
    }
}

/// How the first retry of a multi round-trip call (2026-07-28) departs from
/// the rules, to see how the server handles it; later rounds keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FirstRetry {
    /// Send back a `requestState` the server never issued (its own, altered).
    TamperedState,
    /// Answer under keys the server did not ask, so its questions go unanswered.
    WrongKeys,
    /// Answer every question, plus keys the server did not ask.
    ExtraKeys,
    /// Answer every question with a value of the wrong shape (a number).
    InvalidResponses,
}

/// What a call must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A tool result that is not an error.
    Success,
    /// A tool result with `isError: true`.
    ToolError,
    /// A JSON-RPC error response.
    RpcError,
    /// No result at all (the client gave up, e.g. it never answered).
    NoResult,
    /// Any ending: only the checks judge the call (explored schedules).
    Any,
}

/// What a `request` step must be answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerExpect {
    /// A JSON-RPC result.
    Result,
    /// A JSON-RPC error.
    Error,
    /// Any answer: only the checks judge it.
    #[default]
    Any,
}

/// What a `discover` step walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscoverWhat {
    /// `tools/list`, every page (twice in 2026-07-28, to compare the order).
    Tools,
    /// `resources/list` and `resources/templates/list`, every page, then
    /// `resources/read` of the first listed resources.
    Resources,
    /// `prompts/list`, every page, then `prompts/get` of the first prompts
    /// with their required arguments filled in.
    Prompts,
    /// `completion/complete` of the first argument of the first prompts and
    /// resource templates.
    Completions,
}

impl DiscoverWhat {
    /// The server capability it needs.
    pub fn capability(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Resources => "resources",
            Self::Prompts => "prompts",
            Self::Completions => "completions",
        }
    }
}

fn default_discover_first() -> usize {
    3
}

/// A tool call, as a `call` step or one of the calls of a `parallel` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallStep {
    /// A role (`elicits`, `samples`, `progress`, `long_running`) or a tool name.
    pub tool: String,
    /// Arguments (the profile's for the role when absent).
    #[serde(default)]
    pub arguments: Option<Value>,
    /// The progress token to send (string or integer); none when absent.
    #[serde(default)]
    pub progress_token: Option<Value>,
    /// The log level the call asks for (2026-07-28: `io.modelcontextprotocol/logLevel`
    /// in its `_meta`; without it a server sends no log messages for the call).
    #[serde(default)]
    pub log_level: Option<String>,
    /// The check whose rule this expectation enforces (an id of the catalog,
    /// e.g. `session.unknown_id_404`): a miss is a finding of that check, at
    /// its rule's level in the negotiated version. Without it the expectation
    /// is the scenario's own wish: it fails the built-in reference agents only,
    /// and is reported, never failed, for any other server.
    #[serde(default)]
    pub cites: Option<String>,
    /// How the call must end.
    #[serde(default = "default_expect")]
    pub expect: Expect,
    /// Text the result must contain (checked against the built-in agents only).
    #[serde(default)]
    pub expect_text: Option<String>,
    /// Deprecated (a `kill` fault with `after_events`): kill the server with
    /// SIGKILL and restart it after the client got this many events of the
    /// call's stream, then resume.
    #[serde(default)]
    pub restart_after_events: Option<u32>,
    /// Deprecated (a `kill` fault with `after_polls`): 2026-07-28 tasks: kill
    /// the server with SIGKILL and restart it after this many `tasks/get`
    /// polls of the call's task, then poll on.
    #[serde(default)]
    pub restart_after_task_polls: Option<u32>,
    /// Deprecated (a `kill` fault's `after_server_events`). With
    /// `restart_after_events`: before the kill, wait (up to 5 s) until the
    /// server has sent this many events on the call's stream, as the proxy
    /// recorded them (delivered or withheld by a fault). Makes "killed after
    /// it sent, and stored, what the client has not seen" deterministic.
    #[serde(default)]
    pub restart_after_server_events: Option<u32>,
    /// A name for the call, so a later `resume` step can use its stream's
    /// event ids (`of = "NAME"`).
    #[serde(default)]
    pub name: Option<String>,
    /// The client session that makes the call: `main` (the one every scenario
    /// starts with) when absent; a new name starts a new session first.
    #[serde(default)]
    pub session: Option<String>,
    /// 2026-07-28: how the call's first retry with input responses departs
    /// from the rules (the later rounds keep them).
    #[serde(default)]
    pub first_retry: Option<FirstRetry>,
    /// 2026-07-28 tasks: send `tasks/cancel` after this many `tasks/get`
    /// polls of the call's task, then poll on to its end.
    #[serde(default)]
    pub cancel_task_after_polls: Option<u32>,
    /// 2026-07-28 tasks: after this many `tasks/get` polls of the call's
    /// task, another client (another bearer token) sends `tasks/get`,
    /// `tasks/update` and `tasks/cancel` for it; the call's own requests
    /// carry a token of their own. Judged by `tasks.owner_only`.
    #[serde(default)]
    pub intruder_after_polls: Option<u32>,
    /// Deprecated (a `close_stdin` fault with `after_events`). stdio: close
    /// the server's stdin after the client got this many events of the call (the server should exit; `stdio.exits_on_stdin_close`).
    /// A server still running 2 s later gets SIGTERM, 2 s after that
    /// SIGKILL, which ends the call if nothing else did.
    #[serde(default)]
    pub close_stdin_after_events: Option<u32>,
}

/// Which event id of a named call a `resume` step sends as `Last-Event-ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResumeFrom {
    /// The last event id the client received for the call.
    #[default]
    Last,
    /// The first event id the client received for the call.
    First,
}

/// What a `resume` step must bring back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResumeExpect {
    /// Anything: only the checks judge what was replayed.
    #[default]
    Any,
    /// The named call's response is replayed.
    Response,
}

/// A `resume` step: see [`Step::Resume`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeStep {
    /// The named call whose event id is sent, or a named GET stream (an
    /// `open_get_stream` step's `name`: the last event id it delivered; a GET
    /// stream's name is looked up first).
    #[serde(default)]
    pub of: Option<String>,
    /// Which of its event ids (a call's).
    #[serde(default)]
    pub from: ResumeFrom,
    /// A literal `Last-Event-ID` instead.
    #[serde(default)]
    pub last_event_id: Option<String>,
    /// The session that sends the GET: the call's own when absent; another
    /// name (a new session if unknown) tries a replay across sessions.
    #[serde(default)]
    pub session: Option<String>,
    /// How long to read the resumed stream at most, ms.
    #[serde(default = "default_resume_wait_ms")]
    pub wait_ms: u64,
    /// What it must bring back.
    #[serde(default)]
    pub expect: ResumeExpect,
}

/// A `raw` step: see [`Step::Raw`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// HTTP method.
    #[serde(default = "default_post")]
    pub method: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Which session id to send: `current`, `none` or any other literal value.
    #[serde(default = "default_current")]
    pub session: String,
    /// JSON body (none for GET/DELETE).
    #[serde(default)]
    pub body: Option<Value>,
    /// A body sent as is (for bodies that are not JSON).
    #[serde(default)]
    pub text_body: Option<String>,
    /// The status the server must answer with.
    #[serde(default)]
    pub expect_status: Option<u16>,
    /// Statuses any of which is right (when the spec allows several).
    #[serde(default)]
    pub expect_status_in: Vec<u16>,
    /// The check whose rule this expectation enforces (an id of the catalog,
    /// e.g. `session.unknown_id_404`): a miss is a finding of that check, at
    /// its rule's level in the negotiated version. Without it the expectation
    /// is the scenario's own wish: it fails the built-in reference agents only,
    /// and is reported, never failed, for any other server.
    #[serde(default)]
    pub cites: Option<String>,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Call a tool (by role or name) and follow its stream to the end.
    Call(CallStep),
    /// Make several calls at once (each may name its own session) and wait
    /// for all of them.
    Parallel {
        /// The calls.
        calls: Vec<CallStep>,
    },
    /// Resume a stream once with a chosen `Last-Event-ID` (GET), read what the
    /// server replays, and answer its requests. The id is one the client got
    /// for the call named `of` (`from`: its first or last), or `last_event_id`
    /// as written (an unknown or malformed id).
    Resume(ResumeStep),
    /// Start `sessions` client sessions at once, each calling `tool`, and
    /// count those refused (5xx, resets, refused connections) and those that
    /// completed.
    Load {
        /// How many sessions.
        #[serde(default = "default_load_sessions")]
        sessions: u32,
        /// A role or a tool name.
        tool: String,
        /// Arguments (the profile's for the role when absent).
        #[serde(default)]
        arguments: Option<Value>,
    },
    /// Send an HTTP request as written, to test the server's refusals.
    Raw(RawStep),
    /// Send one JSON-RPC request (any method but a tool call) on the main
    /// session and read its answer; in 2026-07-28 the request carries the
    /// per-request `_meta` and headers like every other.
    Request {
        /// The method, e.g. `resources/read`.
        method: String,
        /// Its params (without `_meta`, which the client adds).
        #[serde(default)]
        params: Option<Value>,
        /// What the answer must be.
        #[serde(default)]
        expect: AnswerExpect,
        /// The check whose rule this expectation enforces (see `call`).
        #[serde(default)]
        cites: Option<String>,
    },
    /// Ask what the server declares, without side effects (tools are listed,
    /// never called): every page of a list, `nextCursor` followed to the end;
    /// then the first few resources read, prompts got with their required
    /// arguments filled in, or arguments completed. A kind the server did not
    /// declare skips the case.
    Discover {
        /// What to walk.
        what: DiscoverWhat,
        /// How many listed items to read, get or complete.
        #[serde(default = "default_discover_first")]
        first: usize,
    },
    /// End the session with DELETE.
    DeleteSession,
    /// Pause.
    Wait {
        /// Milliseconds.
        ms: u64,
    },
    /// Deprecated, read for one release as a `[[faults]]` entry in force from
    /// the next step: add an SSE fault rule from now on.
    Fault {
        /// The rule.
        rule: FaultRule,
    },
    /// Deprecated, read for one release as a `network_down` `[[faults]]`
    /// entry (`from_step`, `until_step`): take the network down or up.
    Network {
        /// Up or down.
        up: bool,
    },
    /// Deprecated, read for one release as a `[[faults]]` entry in force from
    /// the next step: add a TCP toxic (Toxiproxy JSON: `type`, `stream`,
    /// `name`, `attributes`).
    Toxic {
        /// The toxic.
        toxic: ToxicSpec,
    },
    /// Deprecated, read for one release as the `until_step` of the toxic's
    /// entry: remove the TCP toxic with this name (Toxiproxy's default name
    /// is `{type}_{stream}`, e.g. `reset_peer_downstream`).
    RemoveToxic {
        /// Its name.
        name: String,
    },
    /// Open the standalone GET stream of the session and keep reading it in the
    /// background until the case ends (a server without one answers 405). When
    /// it breaks, the client resumes it with `Last-Event-ID`, unless the
    /// scenario's `[client] max_resumes = 0` (then a `resume` step may).
    OpenGetStream {
        /// The session whose stream it is: `main` when absent; a new name
        /// starts a new session first (sessions side by side).
        #[serde(default)]
        session: Option<String>,
        /// A name for the stream, so a later `resume` step can resume it from
        /// the last event id it delivered (`of = "NAME"`).
        #[serde(default)]
        name: Option<String>,
    },
    /// 2026-07-28: open a `subscriptions/listen` stream with this filter
    /// (`toolsListChanged`, `promptsListChanged`, `resourcesListChanged`,
    /// `resourceSubscriptions`), wait for its acknowledgement (2 s at most),
    /// and keep reading it in the background until the case ends.
    Listen {
        /// The notifications to opt in to, as the spec's `SubscriptionFilter`.
        notifications: Value,
    },
    /// Deprecated, read for one release as a `pipe` `[[faults]]` entry from
    /// the next step. stdio: faults on the server's pipes (all 0: none). A
    /// delay holds every line of its direction, a stall only the next one;
    /// `split_writes_ms` writes each client line in two parts that far apart.
    Pipe {
        /// Hold each line to the server, ms.
        #[serde(default)]
        delay_to_server_ms: u64,
        /// Hold each line to the client, ms.
        #[serde(default)]
        delay_to_client_ms: u64,
        /// Hold the next line to the server, ms.
        #[serde(default)]
        stall_to_server_ms: u64,
        /// Hold the next line to the client, ms.
        #[serde(default)]
        stall_to_client_ms: u64,
        /// Write each client line in two parts this far apart, ms (0: whole).
        #[serde(default)]
        split_writes_ms: u64,
    },
    /// Wait until the `listen` streams have carried `count` notifications
    /// after their acknowledgement (`within_ms` at most).
    AwaitNotifications {
        /// How many.
        #[serde(default = "default_one")]
        count: u64,
        /// The longest wait, ms.
        #[serde(default = "default_resume_wait_ms")]
        within_ms: u64,
    },
}

fn default_one() -> u64 {
    1
}

impl Step {
    /// The check a step's expectation cites, if it cites one.
    pub fn cites(&self) -> Option<&str> {
        match self {
            Self::Call(call) => call.cites.as_deref(),
            Self::Raw(RawStep { cites, .. }) | Self::Request { cites, .. } => cites.as_deref(),
            _ => None,
        }
    }
}

/// Every fault selector's `role` must name a role; the scenario needs it
/// (added to `needs`, so a target without it skips the case).
fn check_fault_roles(
    path: &Path,
    text: &str,
    scenario: &mut Scenario,
) -> Result<(), ScenarioError> {
    let mut roles = Vec::new();
    for select in scenario.faults.iter().filter_map(FaultEntry::selector) {
        let Some(name) = &select.role else {
            continue;
        };
        match Role::parse(name) {
            Some(role) => roles.push(role),
            None => {
                let at = text.find(&format!("\"{name}\"")).map(|s| s..s + 1);
                let known: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
                return Err(error_at(
                    path,
                    text,
                    at,
                    format!(
                        "field `select.role`: no role `{name}` (hint: one of {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for role in roles {
        if !scenario.needs.contains(&role) {
            scenario.needs.push(role);
        }
    }
    Ok(())
}

/// Every check id a file cites (its `cites`, and a step's) must be in
/// `catalog`; the first that is not is an error at its place in the file.
/// `kind` and `example` word the message (`check`, `stream.nothing_lost`).
pub(crate) fn check_cited<'a>(
    path: &Path,
    text: &str,
    cited: impl IntoIterator<Item = &'a str>,
    catalog: &[mcp_harness_checks::Check],
    (kind, example): (&str, &str),
) -> Result<(), ScenarioError> {
    let Some(id) = cited
        .into_iter()
        .find(|id| !catalog.iter().any(|c| c.id == *id))
    else {
        return Ok(());
    };
    let at = text.find(&format!("\"{id}\"")).map(|s| s..s + 1);
    Err(error_at(
        path,
        text,
        at,
        format!(
            "field `cites`: no {kind} `{id}` in the catalog (hint: ids such as `{example}`, as in a report's verdicts)"
        ),
    ))
}

fn default_expect() -> Expect {
    Expect::Success
}
fn default_resume_wait_ms() -> u64 {
    2000
}
fn default_load_sessions() -> u32 {
    32
}
fn default_post() -> String {
    "POST".into()
}
fn default_current() -> String {
    "current".into()
}

/// A TCP toxic in Toxiproxy's JSON form.
pub type ToxicSpec = Value;

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it exercises, in one sentence.
    pub description: String,
    /// Protocol versions it runs under.
    pub versions: Vec<String>,
    /// Its subject: the checks it is written to exercise, by id
    /// (`cites = ["stream.nothing_lost"]`), each of which cites its spec
    /// sentence. Every id must be in the catalog. The built-in scenarios sit
    /// in the folder of their first check's spec area (`streams/...`), the
    /// rooms of `checks/src/rules/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cites: Vec<String>,
    /// Roles the target must have (the scenario is skipped otherwise).
    #[serde(default)]
    pub needs: Vec<Role>,
    /// Server capabilities the target must declare (e.g. `resources`): the
    /// case is skipped, never failed, for a server that did not.
    #[serde(default)]
    pub needs_capabilities: Vec<String>,
    /// The client's behaviour.
    #[serde(default)]
    pub client: ClientSpec,
    /// The faults, each a `[[faults]]` table: what (`fault = "cut"`, a TCP
    /// toxic such as `"latency"`, `"network_down"`, `"kill"`, `"close_stdin"`,
    /// `"pipe"`), on what it selects, and when (`from_step`, `until_step`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultEntry>,
    /// Deprecated (read for one release): TCP toxics in Toxiproxy's JSON,
    /// in force from the start. Write `[[faults]]` tables instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub toxics: Vec<ToxicSpec>,
    /// Run the scenario once per role (a case `ID.ROLE` each, skipped when the
    /// target has no tool for it); calls with `tool = "{role}"` call it.
    #[serde(default)]
    pub for_each_role: Vec<Role>,
    /// The scenario is about resuming streams: a legacy case with a call that
    /// got no event id at all (the server offers no resumption) is skipped
    /// there, with that reason, never failed.
    #[serde(default)]
    pub needs_resumption: bool,
    /// The scenario is about a protected server (authorization): a case is
    /// skipped, with that reason, unless the run carries a credential
    /// (`--bearer-token`, `MCP_HARNESS_BEARER_TOKEN`, or `--header
    /// 'Authorization: ...'`); a server that needs none is outside the
    /// authorization spec.
    #[serde(default)]
    pub needs_credentials: bool,
    /// Whether `cargo test` compares the normalized transcript with a snapshot
    /// (off where the interleaving of concurrent calls depends on timing).
    #[serde(default = "default_true")]
    pub snapshot: bool,
    /// The transports the scenario applies to (`["http"]` when absent): a
    /// case whose target speaks another is skipped with that reason. Only
    /// scenarios whose steps need no HTTP (no faults, toxics, resumes, raw
    /// requests or sessions) can name `stdio`.
    #[serde(default = "default_transports")]
    pub transports: Vec<Transport>,
    /// The steps.
    pub steps: Vec<Step>,
    /// What the loader said of the file: a note per deprecated form it read.
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// The tag of a scenario that injects a fault: `mcp-harness run chaos`.
pub const CHAOS_TAG: &str = "chaos";

/// A scenario's tags (server or client): [`CHAOS_TAG`] when it injects a
/// fault, then the names of its transports.
pub fn tags_of(chaos: bool, transports: &[Transport]) -> Vec<&'static str> {
    chaos
        .then_some(CHAOS_TAG)
        .into_iter()
        .chain(transports.iter().map(|t| t.name()))
        .collect()
}

impl Scenario {
    /// Whether it injects a fault of any kind (a `[[faults]]` entry, an old
    /// toxic, a fault, network, toxic or pipe step, or a kill or stdin close
    /// carried by a call).
    pub fn injects_faults(&self) -> bool {
        !self.faults.is_empty()
            || !self.toxics.is_empty()
            || self.needs_own_process()
            || self.steps.iter().any(|step| {
                matches!(
                    step,
                    Step::Fault { .. }
                        | Step::Network { .. }
                        | Step::Toxic { .. }
                        | Step::Pipe { .. }
                )
            })
    }

    /// Its tags, which `run` filters match as well as ids: `chaos` when it
    /// injects a fault, then the transports it applies to (`http`, `stdio`).
    pub fn tags(&self) -> Vec<&'static str> {
        tags_of(self.injects_faults(), &self.transports)
    }

    /// The spec area it exercises: that of its first cited check.
    pub fn area(&self) -> Option<&'static str> {
        self.cites
            .first()
            .and_then(|id| mcp_harness_checks::area_of(id))
    }

    /// Whether a case of it must have a server process of its own: one of
    /// its calls kills and restarts the server, or closes its stdin.
    pub fn needs_own_process(&self) -> bool {
        let kills = |call: &CallStep| {
            call.restart_after_events.is_some()
                || call.restart_after_task_polls.is_some()
                || call.restart_after_server_events.is_some()
                || call.close_stdin_after_events.is_some()
        };
        self.faults.iter().any(FaultEntry::acts_in_calls)
            || self.steps.iter().any(|step| match step {
                Step::Call(call) => kills(call),
                Step::Parallel { calls } => calls.iter().any(kills),
                _ => false,
            })
    }
}

/// How a client and a server talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Streamable HTTP.
    Http,
    /// Newline-delimited JSON-RPC on the server's stdin and stdout.
    Stdio,
}

impl Transport {
    /// Its name, as a scenario writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Stdio => "stdio",
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_transports() -> Vec<Transport> {
    vec![Transport::Http]
}

/// The placeholder a `for_each_role` scenario calls its role by.
pub const ROLE_PLACEHOLDER: &str = "{role}";

impl Role {
    /// Every role, in the order a profile lists them.
    pub const ALL: [Role; 6] = [
        Self::Elicits,
        Self::Samples,
        Self::MultiRound,
        Self::Progress,
        Self::LongRunning,
        Self::Notifies,
    ];

    /// The role named `name` (`elicits`, `long_running`), if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The role's name in scenario files (`long_running`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Progress => "progress",
            Self::Elicits => "elicits",
            Self::Samples => "samples",
            Self::LongRunning => "long_running",
            Self::MultiRound => "multi_round",
            Self::Notifies => "notifies",
        }
    }
}

impl ScenarioFile {
    /// The cases of a `for_each_role` scenario, one per role (`ID.ROLE`, the
    /// role needed, `{role}` replaced); any other scenario as it is.
    pub fn expand_roles(self) -> Vec<ScenarioFile> {
        if self.scenario.for_each_role.is_empty() {
            return vec![self];
        }
        let fill = |call: &mut CallStep, role: Role| {
            if call.tool == ROLE_PLACEHOLDER {
                call.tool = role.name().to_owned();
            }
        };
        self.scenario
            .for_each_role
            .iter()
            .map(|&role| {
                let mut scenario = self.scenario.clone();
                scenario.for_each_role.clear();
                if !scenario.needs.contains(&role) {
                    scenario.needs.push(role);
                }
                scenario.description = format!("{} (role: {})", scenario.description, role.name());
                for step in &mut scenario.steps {
                    match step {
                        Step::Call(call) => fill(call, role),
                        Step::Parallel { calls } => calls.iter_mut().for_each(|c| fill(c, role)),
                        Step::Load { tool, .. } if tool == ROLE_PLACEHOLDER => {
                            *tool = role.name().to_owned()
                        }
                        _ => {}
                    }
                }
                ScenarioFile {
                    id: format!("{}.{}", self.id, role.name()),
                    path: self.path.clone(),
                    scenario,
                }
            })
            .collect()
    }
}

/// A scenario with where it came from.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// Stable id: the path under scenarios/ without `.toml`, e.g. `elicitation/accept`.
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// Its content.
    pub scenario: Scenario,
}

/// A scenario file that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ScenarioError {
    /// The file.
    pub path: String,
    /// 1-based line of the mistake.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong (names the field).
    pub message: String,
}

/// Parse one scenario from `text` (`path` is for messages).
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let mut scenario: Scenario = parse_as(path, text)?;
    let mut notes = faults::upgrade_old_forms(
        &mut scenario.faults,
        &mut scenario.toxics,
        &mut scenario.steps,
    );
    notes.extend(faults::old_call_fields(&scenario.steps));
    scenario.notes = notes;
    if let Err(message) = faults::check_entries(&scenario.faults, &scenario.steps) {
        let at = text.find("[[faults]]").map(|s| s..s + 1);
        return Err(error_at(path, text, at, message));
    }
    check_versions(path, text, &scenario.versions)?;
    check_fault_roles(path, text, &mut scenario)?;
    let cited = (scenario.steps.iter().filter_map(Step::cites))
        .chain(scenario.cites.iter().map(String::as_str));
    check_cited(
        path,
        text,
        cited,
        mcp_harness_checks::catalog(),
        ("check", "stream.nothing_lost"),
    )?;
    check_transports(path, text, &scenario)?;
    if scenario.steps.is_empty() {
        return Err(error_at(
            path,
            text,
            None,
            "field `steps` is empty: a scenario needs at least one step".into(),
        ));
    }
    Ok(scenario)
}

/// The HTTP thing a step needs, if it needs one.
fn needs_http(step: &Step) -> Option<&'static str> {
    Some(match step {
        Step::Resume(_) => "resume",
        Step::Load { .. } => "load",
        Step::Raw(_) => "raw",
        Step::DeleteSession => "delete_session",
        Step::Fault { .. } => "fault",
        Step::Network { .. } => "network",
        Step::Toxic { .. } => "toxic",
        Step::RemoveToxic { .. } => "remove_toxic",
        Step::OpenGetStream { .. } => "open_get_stream",
        Step::Parallel { calls } if calls.iter().any(|c| c.session.is_some()) => {
            "parallel (with sessions)"
        }
        Step::Call(call) if call.session.is_some() => "call (with a session)",
        Step::Call(call) if call.restart_after_server_events.is_some() => {
            "call (restart_after_server_events, counted on SSE)"
        }
        _ => return None,
    })
}

/// The stdio thing a step needs, if it needs one.
fn needs_stdio(step: &Step) -> Option<&'static str> {
    match step {
        Step::Pipe { .. } => Some("pipe"),
        Step::Call(call) if call.close_stdin_after_events.is_some() => {
            Some("call (close_stdin_after_events)")
        }
        Step::Parallel { calls } if calls.iter().any(|c| c.close_stdin_after_events.is_some()) => {
            Some("parallel (close_stdin_after_events)")
        }
        _ => None,
    }
}

/// A scenario that names `stdio` must need nothing only HTTP has, and one
/// that names `http` nothing only stdio has.
fn check_transports(path: &Path, text: &str, scenario: &Scenario) -> Result<(), ScenarioError> {
    let at = text.find("transports").map(|s| s..s + 1);
    if scenario.transports.contains(&Transport::Http)
        && let Some(fault) = scenario.faults.iter().find(|f| f.needs_stdio())
    {
        return Err(error_at(
            path,
            text,
            at,
            format!(
                "field `transports` names http (the default), but its `{}` fault needs stdio (hint: `transports = [\"stdio\"]`)",
                fault.name()
            ),
        ));
    }
    if scenario.transports.contains(&Transport::Http)
        && let Some(step) = scenario.steps.iter().find_map(needs_stdio)
    {
        return Err(error_at(
            path,
            text,
            at,
            format!(
                "field `transports` names http (the default), but a `{step}` step needs stdio (hint: `transports = [\"stdio\"]`)"
            ),
        ));
    }
    if !scenario.transports.contains(&Transport::Stdio) {
        return Ok(());
    }
    let http = |what: String| {
        error_at(
            path,
            text,
            at.clone(),
            format!(
                "field `transports` names stdio, but {what} needs HTTP (hint: keep such a scenario `transports = [\"http\"]`)"
            ),
        )
    };
    if let Some(fault) = scenario.faults.iter().find(|f| f.needs_http()) {
        return Err(http(format!("its `{}` fault", fault.name())));
    }
    if let Some(step) = scenario.steps.iter().find_map(needs_http) {
        return Err(http(format!("a `{step}` step")));
    }
    Ok(())
}

/// An error at byte `offset` of `text` (line and column computed).
pub(crate) fn error_at(
    path: &Path,
    text: &str,
    offset: Option<std::ops::Range<usize>>,
    message: String,
) -> ScenarioError {
    let at = offset.map(|r| r.start).unwrap_or(0).min(text.len());
    let before = &text[..at];
    ScenarioError {
        path: path.display().to_string(),
        line: before.matches('\n').count() + 1,
        column: before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1,
        message,
    }
}

/// `versions` must be non-empty and name versions the harness knows.
pub fn check_versions(path: &Path, text: &str, versions: &[String]) -> Result<(), ScenarioError> {
    let known = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];
    if versions.is_empty() {
        return Err(error_at(
            path,
            text,
            None,
            "field `versions` is empty (hint: versions = [\"2025-11-25\"])".into(),
        ));
    }
    for version in versions {
        if !known.contains(&version.as_str()) {
            let at = text.find(&format!("\"{version}\"")).map(|s| s..s + 1);
            return Err(error_at(
                path,
                text,
                at,
                format!(
                    "field `versions`: unknown protocol version `{version}` (hint: one of {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Parse any TOML file format of the harness from `text`, with the same
/// path:line:column errors naming the field.
pub fn parse_as<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ScenarioError> {
    let error = |offset: Option<std::ops::Range<usize>>, message: String| {
        error_at(path, text, offset, message)
    };
    let scenario: T = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().to_owned();
        // Errors inside a step point at its table; find the offending value in it.
        let refined = e.span().and_then(|span| {
            let culprit = message.split('`').nth(1).filter(|c| !c.is_empty())?;
            // The table the error points at runs to the next table header.
            let start = span.start.min(text.len());
            let end = text[start..]
                .find("\n[")
                .map(|i| start + i + 1)
                .filter(|e| *e > span.end)
                .unwrap_or(text.len())
                .max(span.end.min(text.len()));
            let region = &text[start..end];
            let at = region.find(culprit)? + start;
            let line_start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let key = text[line_start..at]
                .split('=')
                .next()
                .map(str::trim)
                .filter(|k| !k.is_empty() && !k.contains(' '));
            let message = match key {
                Some(key) if key != culprit => format!("field `{key}`: {message}"),
                _ => message.clone(),
            };
            Some(error(Some(at..at + 1), message))
        });
        refined.unwrap_or_else(|| error(e.span(), message))
    })?;
    Ok(scenario)
}

/// The subdirectory of the scenario directory that holds client scenarios
/// (`mcp-harness client-test`), not server scenarios: the area of the client
/// checks.
pub const CLIENT_SCENARIOS: &str = "client";

/// Its name before scenario folders were named by spec area: a user's
/// scenario folder may still have it, and its files are not server scenarios.
const FORMER_CLIENT_SCENARIOS: &str = "clients";

/// Whether `path` is under a client scenario folder of `dir`.
fn is_client_scenario(dir: &Path, path: &Path) -> bool {
    [CLIENT_SCENARIOS, FORMER_CLIENT_SCENARIOS]
        .iter()
        .any(|sub| path.starts_with(dir.join(sub)))
}

/// Load every `*.toml` under `dir` (recursively, but not `client/`), sorted by
/// id. Files that do not parse are returned as errors; the rest still load.
pub fn load_dir(dir: &Path) -> (Vec<ScenarioFile>, Vec<ScenarioError>) {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.retain(|f| !is_client_scenario(dir, f));
    files.sort();
    let (texts, mut errors) = read_files(files);
    let (scenarios, more) = load_texts(dir, texts);
    errors.extend(more);
    (scenarios, errors)
}

/// Read scenario files: (path, text) for each, and an error for each that
/// cannot be read (the others still load).
pub(crate) fn read_files(paths: Vec<PathBuf>) -> (Vec<(PathBuf, String)>, Vec<ScenarioError>) {
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((path, text)),
            Err(e) => errors.push(ScenarioError {
                path: path.display().to_string(),
                line: 0,
                column: 0,
                message: e.to_string(),
            }),
        }
    }
    (texts, errors)
}

/// The built-in scenarios (compiled into the binary), client scenarios aside.
pub fn load_builtin() -> (Vec<ScenarioFile>, Vec<ScenarioError>) {
    let texts = crate::builtin::files_under("")
        .into_iter()
        .filter(|(path, _)| !is_client_scenario(Path::new(crate::builtin::ORIGIN), path))
        .map(|(path, text)| (path, text.to_owned()))
        .collect();
    load_texts(Path::new(crate::builtin::ORIGIN), texts)
}

/// Parse scenario files given as (path under `root`, text); a file's id is
/// its path under `root` without `.toml`.
pub fn load_texts(
    root: &Path,
    texts: Vec<(PathBuf, String)>,
) -> (Vec<ScenarioFile>, Vec<ScenarioError>) {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in texts {
        let id = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        match parse(&path, &text) {
            Ok(scenario) => scenarios.extend(ScenarioFile { id, path, scenario }.expand_roles()),
            Err(e) => errors.push(e),
        }
    }
    (scenarios, errors)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The JSON Schema of scenario files.
pub fn json_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_reads() {
        let text = r#"
description = "travel accept"
versions = ["2025-06-18", "2026-07-28"]
needs = ["elicits"]
[client]
elicitation = { accept = { content = { confirm = true } } }
[[faults]]
fault = "cut"
after = 2
select = { tool = "travel_agent" }
[[steps]]
do = "call"
tool = "elicits"
progress_token = "tok"
expect_text = "booked"
"#;
        let scenario = parse(Path::new("x.toml"), text).unwrap();
        assert_eq!(scenario.needs, vec![Role::Elicits]);
        assert!(matches!(&scenario.steps[0], Step::Call(call) if call.tool == "elicits"));
        assert_eq!(scenario.faults.len(), 1);
    }

    #[test]
    fn mistakes_name_file_line_and_field() {
        let text = "description = \"x\"\nversions = [\"2025-06-18\"]\n\n[[steps]]\ndo = \"call\"\ntool = \"elicits\"\nexpect = \"maybe\"\n";
        let err = parse(Path::new("bad.toml"), text).unwrap_err();
        assert_eq!((err.path.as_str(), err.line), ("bad.toml", 7), "{err}");
        assert!(err.message.contains("maybe"), "{err}");
        let err = parse(
            Path::new("v.toml"),
            "description = \"x\"\nversions = [\"1999-01-01\"]\n[[steps]]\ndo = \"wait\"\nms = 1\n",
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("versions") && err.message.contains("1999-01-01"),
            "{err}"
        );
        let err = parse(Path::new("u.toml"), "description = \"x\"\nversions = [\"2025-06-18\"]\ncolour = 1\n[[steps]]\ndo = \"wait\"\nms = 1\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("colour"), "{err}");
    }

    #[test]
    fn concurrency_steps_read_and_roles_expand() {
        let text = r#"
description = "matrix"
versions = ["2025-11-25"]
for_each_role = ["progress", "samples"]
[[steps]]
do = "parallel"
calls = [{ tool = "{role}", name = "a" }, { tool = "elicits", session = "b" }]
[[steps]]
do = "resume"
of = "a"
from = "first"
session = "b"
[[steps]]
do = "resume"
last_event_id = "nope"
[[steps]]
do = "load"
tool = "{role}"
"#;
        let scenario = parse(Path::new("m.toml"), text).unwrap();
        let file = ScenarioFile {
            id: "streams/m".into(),
            path: "m.toml".into(),
            scenario,
        };
        let cases = file.expand_roles();
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["streams/m.progress", "streams/m.samples"]);
        let samples = &cases[1].scenario;
        assert_eq!(samples.needs, vec![Role::Samples]);
        match &samples.steps[0] {
            Step::Parallel { calls } => {
                assert_eq!(calls[0].tool, "samples");
                assert_eq!(calls[1].tool, "elicits", "only the placeholder is replaced");
                assert_eq!(calls[1].session.as_deref(), Some("b"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &samples.steps[1],
            Step::Resume(ResumeStep { of: Some(of), from: ResumeFrom::First, wait_ms: 2000, .. }) if of == "a"
        ));
        assert!(
            matches!(&samples.steps[3], Step::Load { sessions: 32, tool, .. } if tool == "samples")
        );
    }

    #[test]
    fn a_mistake_in_a_fault_names_its_line_and_field() {
        let text = "description = \"x\"\nversions = [\"2025-11-25\"]\n\n[[faults]]\nfault = \"cut\"\naftr = 2\n\n[[steps]]\ndo = \"wait\"\nms = 1\n";
        let err = parse(Path::new("f.toml"), text).unwrap_err();
        assert_eq!((err.path.as_str(), err.line), ("f.toml", 6), "{err}");
        assert!(err.message.contains("aftr"), "{err}");
        let late = text.replace("aftr = 2", "after = 2\nfrom_step = 4");
        let err = parse(Path::new("f.toml"), &late).unwrap_err();
        assert!(err.message.contains("field `from_step`: step 4"), "{err}");
        assert_eq!(err.line, 4, "{err}");
    }

    #[test]
    fn transports_must_fit_the_steps() {
        let stdio_with_raw = "description = \"x\"\nversions = [\"2025-11-25\"]\ntransports = [\"http\", \"stdio\"]\n[[steps]]\ndo = \"raw\"\n";
        let err = parse(Path::new("s.toml"), stdio_with_raw).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("`raw` step needs HTTP"), "{err}");
        let http_with_pipe = "description = \"x\"\nversions = [\"2025-11-25\"]\n[[faults]]\nfault = \"pipe\"\ndelay_to_client_ms = 5\n[[steps]]\ndo = \"wait\"\nms = 1\n";
        let err = parse(Path::new("h.toml"), http_with_pipe).unwrap_err();
        assert!(err.message.contains("`pipe` fault needs stdio"), "{err}");
        let stdio_only = "description = \"x\"\nversions = [\"2025-11-25\"]\ntransports = [\"stdio\"]\n[[faults]]\nfault = \"pipe\"\nstall_to_client_ms = 5\n[[steps]]\ndo = \"wait\"\nms = 1\n";
        let scenario = parse(Path::new("p.toml"), stdio_only).unwrap();
        assert_eq!(scenario.transports, [Transport::Stdio]);
        let stdio_with_cut = stdio_only.replace(
            "fault = \"pipe\"\nstall_to_client_ms = 5",
            "fault = \"cut\"\nafter = 1",
        );
        let err = parse(Path::new("c.toml"), &stdio_with_cut).unwrap_err();
        assert!(err.message.contains("its `cut` fault"), "{err}");
        // The old step still reads, into the same entry, with a note.
        let old = "description = \"x\"\nversions = [\"2025-11-25\"]\ntransports = [\"stdio\"]\n[[steps]]\ndo = \"pipe\"\nstall_to_client_ms = 5\n[[steps]]\ndo = \"wait\"\nms = 1\n";
        let upgraded = parse(Path::new("o.toml"), old).unwrap();
        assert_eq!(upgraded.faults.len(), 1);
        assert_eq!(upgraded.faults[0].from_step, Some(1));
        assert_eq!(upgraded.steps.len(), 1);
        assert!(
            upgraded.notes[0].contains("`pipe` step is deprecated"),
            "{:?}",
            upgraded.notes
        );
    }

    #[test]
    fn a_fault_selects_a_role_the_scenario_then_needs_and_an_unknown_role_is_refused() {
        let text = "description = \"x\"\nversions = [\"2025-11-25\"]\n[[faults]]\nfault = \"cut\"\nafter = 2\nselect = { role = \"samples\" }\n[[steps]]\ndo = \"call\"\ntool = \"samples\"\n";
        let scenario = parse(Path::new("r.toml"), text).unwrap();
        assert_eq!(scenario.needs, vec![Role::Samples]);
        assert_eq!(
            scenario.faults[0]
                .selector()
                .and_then(|s| s.role.as_deref()),
            Some("samples")
        );
        let wrong = text.replace("role = \"samples\"", "role = \"sampler\"");
        let err = parse(Path::new("r.toml"), &wrong).unwrap_err();
        assert_eq!(err.line, 6, "{err}");
        assert!(err.message.contains("no role `sampler`"), "{err}");
        assert!(err.message.contains("elicits"), "{err}");
    }

    #[test]
    fn a_mistake_inside_a_parallel_call_names_its_field() {
        let text = "description = \"x\"\nversions = [\"2025-11-25\"]\n[[steps]]\ndo = \"parallel\"\ncalls = [{ tool = \"progress\", colour = 1 }]\n";
        let err = parse(Path::new("p.toml"), text).unwrap_err();
        assert!(err.message.contains("colour"), "{err}");
        assert_eq!(err.line, 5, "{err}");
    }

    #[test]
    fn the_schema_names_the_step_kinds() {
        let schema = json_schema().to_string();
        for kind in [
            "call",
            "raw",
            "delete_session",
            "fault",
            "restart_after_events",
            "restart_after_server_events",
            "open_get_stream",
            "remove_toxic",
            "parallel",
            "resume",
            "load",
            "for_each_role",
            "needs_resumption",
        ] {
            assert!(schema.contains(kind), "{kind}");
        }
    }

    #[test]
    fn cites_name_checks_of_the_catalog_and_give_the_area() {
        let text = "description = \"d\"\nversions = [\"2025-11-25\"]\ncites = [\"stream.nothing_lost\", \"response.exactly_once\"]\n[[steps]]\ndo = \"request\"\nmethod = \"ping\"\n";
        let scenario = parse(Path::new("s.toml"), text).unwrap();
        assert_eq!(scenario.area(), Some("streams"));
        assert_eq!(scenario.tags(), vec!["http"]);
        let bad = text.replace("response.exactly_once", "response.twice");
        let error = parse(Path::new("s.toml"), &bad).unwrap_err().to_string();
        assert!(
            error.starts_with("s.toml:3:")
                && error.contains("field `cites`: no check `response.twice`"),
            "{error}"
        );
    }

    #[test]
    fn a_scenario_that_injects_a_fault_is_tagged_chaos() {
        let text = "description = \"d\"\nversions = [\"2025-11-25\"]\ntransports = [\"http\", \"stdio\"]\n[[faults]]\nfault = \"cut\"\nafter = 1\nselect = { rpc_method = \"tools/call\" }\n[[steps]]\ndo = \"call\"\ntool = \"x\"\n";
        let without = text.replace(
            "[[faults]]\nfault = \"cut\"\nafter = 1\nselect = { rpc_method = \"tools/call\" }\n",
            "",
        );
        let calm = parse(Path::new("s.toml"), &without).unwrap();
        assert_eq!(calm.tags(), vec!["http", "stdio"]);
        let chaos: Scenario = toml::from_str(&text.replace(", \"stdio\"", "")).unwrap();
        assert_eq!(chaos.tags(), vec![CHAOS_TAG, "http"]);
    }
}
