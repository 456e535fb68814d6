//! Command-line interface: the arguments (clap), logging set-up, and the
//! dispatch to each command, a file of its own beside this one (`run.rs`,
//! `client_test.rs`, ...), which does its work through the library's stages
//! and ends with an [`Exit`] (the exit codes' one table is `mcp_harness::exit`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mcp_harness::exit::Exit;

/// `print!` that does not panic when stdout is closed (`mcp-harness ... | head`):
/// what cannot be written is dropped.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` that does not panic when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
use mcp_harness_agents::{AgentSettings, ServeConfig, StoreChoice};

mod client_test;
mod explore;
mod host;
mod profile;
mod proxy;
mod report;
mod run;
mod scenarios;
mod serve;
mod target;

use client_test::client_test;
use explore::explore;
use host::host;
use profile::profile;
use proxy::proxy;
use report::{check, emit_reports, report};
use run::{check_versions, load_baseline, run, select_cases};
use serve::serve;
use target::{is_loopback_url, target_and_profile, target_headers, target_of};

/// Conformance and chaos test harness for the Model Context Protocol.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-harness",
    version,
    about,
    long_about = None,
    after_help = "Start here:\n  mcp-harness run              (built-in scenarios, built-in reference agents)\n  mcp-harness run --server-url http://127.0.0.1:3000/mcp\n  mcp-harness run --server-cmd \"python server.py --port {port}\"\n  mcp-harness run --help       (targets, filters, reports)\n\nExit codes:\n  0  every case passed (skipped and unexercised ones count for nothing)\n  1  a check failed, a call was lost to a fault, or a case could not run\n  2  bad usage or configuration (a malformed scenario or profile included)\n  3  the harness itself failed (I/O, a port it cannot bind)"
)]
struct Cli {
    /// More log output (repeat for more); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the reference agents (travel, research, long-running, itinerary) over
    /// streamable HTTP, or over stdio.
    ///
    /// Examples:
    ///   mcp-harness serve
    ///   mcp-harness serve --time-scale 0.05 --store /tmp/agents.db
    /// then point any MCP client at http://127.0.0.1:8006/mcp
    ///   mcp-harness serve --stdio
    /// as the command an MCP client starts (JSON-RPC lines on stdin and stdout)
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Run the recording chaos proxy in front of a server.
    ///
    /// Clients connect to --listen; everything is forwarded to --upstream through a
    /// TCP proxy named `mcp` whose toxics you set with any Toxiproxy client on --api.
    ///
    /// Examples:
    ///   mcp-harness proxy --upstream http://127.0.0.1:8006 --record run.jsonl
    ///   mcp-harness proxy --upstream http://127.0.0.1:8006 --record run.jsonl \
    ///     --fault '{"fault":"cut","after":2,"select":{"tool":"travel_agent"}}'
    /// then point the client at http://127.0.0.1:8007/mcp; records reach the file within 50 ms.
    #[command(verbatim_doc_comment)]
    Proxy(ProxyArgs),
    /// Run the scenarios against a server and judge what crossed the wire.
    ///
    /// With no target option, runs every scenario against the built-in reference agents.
    ///
    /// Examples:
    ///   mcp-harness run
    ///   mcp-harness run elicitation/ --version 2025-11-25
    ///   mcp-harness run chaos          (every scenario that injects a fault)
    ///   mcp-harness run --server-cmd "python server.py --port {port}" --profile my-server.toml
    ///   mcp-harness run --server-url http://127.0.0.1:3000/mcp --format junit --out report/
    ///   mcp-harness run --server-cmd "node server.mjs --port {port}" --expected-failures known.txt
    ///   mcp-harness run --transport stdio --server-cmd "npx -y @modelcontextprotocol/server-everything"
    #[command(verbatim_doc_comment)]
    Run(RunArgs),
    /// Print a starter profile for a server, to confirm and pass to `run --profile`.
    ///
    /// Lists the server's tools (never calls them) and guesses which could play
    /// each role (elicits, samples, progress, long_running) from their names and
    /// descriptions; arguments come from schema defaults and required fields;
    /// every tool is shown with its schemas as a comment.
    ///
    /// Examples:
    ///   mcp-harness profile --server-cmd "python server.py --port {port}" > my-server.toml
    ///   mcp-harness profile --server-url http://127.0.0.1:3000/mcp --out my-server.toml
    ///   mcp-harness run --server-url http://127.0.0.1:3000/mcp --profile my-server.toml
    #[command(verbatim_doc_comment)]
    Profile(ProfileArgs),
    /// Search fault schedules with proptest until a check fails, then shrink it.
    ///
    /// Each schedule (which stream is cut after how many events, resume delays,
    /// restarts, TCP latency, elicitation and sampling answers; over stdio,
    /// pipe delays, a stall, split writes, stdin closed mid-call and restarts)
    /// becomes an ordinary scenario; the minimal failing one is written to
    /// --out as a scenario file that reproduces it. Exit code 1 when one was
    /// found, 2 when every schedule was skipped (nothing was tested).
    ///
    /// Examples:
    ///   mcp-harness explore --cases 50
    ///   mcp-harness explore --server-cmd "python server.py --port {port}" --out found/
    ///   mcp-harness explore --transport stdio --server-cmd "python server.py"
    #[command(verbatim_doc_comment)]
    Explore(ExploreArgs),
    /// Test an MCP client: run it against scripted servers and judge its side of the wire.
    ///
    /// For each client scenario (`mcp-harness scenarios list`), the reference agents
    /// serve behind the chaos proxy with the scenario's faults; the command runs
    /// with the server URL as its last argument and MCP_CONFORMANCE_SCENARIO and
    /// MCP_CONFORMANCE_PROTOCOL_VERSION set, bounded in time; its output is kept.
    ///
    /// Examples:
    ///   mcp-harness client-test --client-cmd "mcp-harness host"
    ///   mcp-harness client-test --client-cmd "python my_client.py" cut --out report/
    #[command(verbatim_doc_comment)]
    ClientTest(ClientTestArgs),
    /// The reference host: call an agent tool, answer its questions, resume after a crash.
    ///
    /// The URL may come last (as `client-test` passes it). Without --tool, the
    /// tool follows MCP_CONFORMANCE_SCENARIO (travel, research, long_running);
    /// without --version, MCP_CONFORMANCE_PROTOCOL_VERSION, else 2025-11-25.
    ///
    /// Examples:
    ///   mcp-harness host http://127.0.0.1:8006/mcp --tool travel --answer accept
    ///   mcp-harness host --url http://127.0.0.1:8006/mcp --token-file call.json
    ///   (kill it with SIGKILL mid-call, run the same command again: it resumes)
    #[command(verbatim_doc_comment)]
    Host(HostArgs),
    /// Re-judge a stored transcript (JSON Lines from `proxy --record` or `run --out`).
    ///
    /// Exit code 1 when a check fails. A file cut inside its last line (a
    /// recorder killed mid-write) is read up to there, and says so.
    ///
    /// Examples:
    ///   mcp-harness check run.jsonl
    ///   mcp-harness check report/transcripts/elicitation__accept@2025-11-25.jsonl
    #[command(verbatim_doc_comment)]
    Check {
        /// The transcript file.
        transcript: std::path::PathBuf,
    },
    /// Draw a stored run as report.html: a sequence diagram per case.
    ///
    /// PATH is an `--out` folder of `run` or `client-test` (its report.json and
    /// transcripts are read; `run --out` already writes report.html there) or
    /// one transcript file (JSON Lines from `proxy --record`, `stdio-tap` or
    /// `run --out`), judged afresh as `check` does. The page is one
    /// self-contained file: open it in any browser, no network needed.
    ///
    /// Examples:
    ///   mcp-harness report report/
    ///   mcp-harness report run.jsonl --output run.html
    ///   mcp-harness report --client client.jsonl
    #[command(verbatim_doc_comment)]
    Report {
        /// An `--out` folder or a transcript file.
        path: std::path::PathBuf,
        /// Where to write the page [default: PATH/report.html for a folder,
        /// the transcript's name with .html for a file].
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// The transcript is of a client under test (judge it with the client
        /// checks); only for a transcript file.
        #[arg(long)]
        client: bool,
    },
    /// Compare two runs: what a change broke and what it fixed.
    ///
    /// OLD and NEW are `--out` folders of `run` (or `client-test`), or
    /// report.json files (`run --format json` prints one). Listed: checks that
    /// fail or warn now and did not, fixed ones, new errors, calls newly lost
    /// to a fault, cases added, gone or newly skipped. Exit code 1 when
    /// something regressed (a new failure, a new error or a newly lost call):
    /// a pull request can be gated on regressions, not on known failures.
    ///
    /// Examples:
    ///   mcp-harness diff main-report/ pr-report/
    ///   mcp-harness diff before.json after.json --format json
    #[command(verbatim_doc_comment)]
    Diff {
        /// The earlier run.
        old: std::path::PathBuf,
        /// The later run.
        new: std::path::PathBuf,
        /// Output format on stdout (`human` or `json`).
        #[arg(long, value_enum, default_value = "human")]
        format: DiffFormat,
    },
    /// Be a stdio server that is another one, recorded: start COMMAND, pass
    /// this process's stdin to it and its stdout back, and record both
    /// directions, its stderr and its process events in FILE (a transcript).
    /// When stdin closes, end COMMAND (stdin closed, then SIGTERM, then
    /// SIGKILL). `client-test --transport stdio` hands clients such a command.
    ///
    /// Example:
    ///   mcp-harness stdio-tap --record run.jsonl -- mcp-harness serve --stdio
    #[command(verbatim_doc_comment)]
    StdioTap {
        /// Where to write the transcript.
        #[arg(long, value_name = "FILE")]
        record: std::path::PathBuf,
        /// The server command and its arguments.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Print the JSON Schema of scenario files (for editors).
    ///
    /// Example:
    ///   mcp-harness schema > scenario.schema.json
    /// then put `#:schema ./scenario.schema.json` on the first line of a scenario file.
    #[command(verbatim_doc_comment)]
    Schema,
    /// The built-in scenarios: list them, or write them out to edit.
    ///
    /// Examples:
    ///   mcp-harness scenarios list
    ///   mcp-harness scenarios export my-scenarios/
    ///   mcp-harness run --scenarios my-scenarios/
    #[command(subcommand, verbatim_doc_comment)]
    Scenarios(ScenariosCommand),
}

#[derive(Debug, Subcommand)]
enum ScenariosCommand {
    /// Print every built-in scenario: its id (spec area first), versions, tags
    /// (`chaos`, transports) and description.
    List,
    /// Write every built-in scenario file (and scenario.schema.json) under DIR.
    Export {
        /// The folder (created if missing).
        dir: std::path::PathBuf,
        /// Overwrite files that exist already.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, clap::Args)]
struct ClientTestArgs {
    /// The client command; the server URL is appended as its last argument
    /// (over stdio: a command line, one argument, that starts the scripted
    /// server; also in MCP_HARNESS_STDIO_SERVER).
    #[arg(long, value_name = "CMD")]
    client_cmd: String,
    /// How the client talks to the scripted server: `http` (a URL) or
    /// `stdio` (a command the client starts and speaks to on its stdin and
    /// stdout).
    #[arg(long, value_enum, default_value = "http", value_name = "TRANSPORT")]
    transport: TransportArg,
    /// Only scenarios whose `id@version` contains one of these strings, or
    /// that carry one of them as a tag (`chaos`: those that inject a fault;
    /// `http`, `stdio`: their transports). Ids name a spec area first
    /// (`streams/`, `elicitation/`): `mcp-harness scenarios list` shows them.
    filters: Vec<String>,
    /// Use the client scenarios in DIR instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<std::path::PathBuf>,
    /// Only these protocol versions (repeatable).
    #[arg(long = "version", value_name = "VERSION")]
    versions: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write report.html (a sequence diagram per case), report.json, junit.xml,
    /// transcripts and the clients' output here.
    #[arg(long, value_name = "DIR")]
    out: Option<std::path::PathBuf>,
    /// Failures to expect: lines of `scenario@version check-id  # reason`.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<std::path::PathBuf>,
    /// How long the client may run per case before it is killed.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    client_timeout: Duration,
}

#[derive(Debug, clap::Args)]
struct HostArgs {
    /// The MCP endpoint (or --url).
    #[arg(value_name = "URL")]
    endpoint: Option<String>,
    /// The MCP endpoint.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Tool to call: travel, research, long_running, or a tool name.
    #[arg(long, value_name = "TOOL")]
    tool: Option<String>,
    /// Tool arguments as JSON.
    #[arg(long, default_value = "{}", value_name = "JSON")]
    arguments: String,
    /// How to answer an elicitation (without it, on a terminal, the host asks you).
    #[arg(long, value_parser = ["accept", "decline", "cancel"])]
    answer: Option<String>,
    /// Ask on stdin how to answer an elicitation, even when stdin is not a
    /// terminal (piped answers: a line per question).
    #[arg(long, conflicts_with = "answer")]
    ask: bool,
    /// Answer sampling with this command's output; it gets the request's
    /// messages as JSON on stdin (e.g. a script calling your model).
    #[arg(long, value_name = "CMD")]
    sample_cmd: Option<String>,
    /// What the host's model answers to a sampling request.
    #[arg(
        long,
        default_value = "Summary: the findings hold up.",
        value_name = "TEXT"
    )]
    sample_text: String,
    /// Protocol version to speak.
    #[arg(long, value_name = "VERSION")]
    version: Option<String>,
    /// Keep the session, the pending call and the last event id here, and
    /// resume from it when started again.
    #[arg(long, value_name = "PATH")]
    token_file: Option<std::path::PathBuf>,
    /// How long the call may take.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
    /// Break a client rule on purpose, to test a checker or a server
    /// (repeatable): omit-version-header, resume-from-first-event, ignore-retry,
    /// answer-twice, cancel-on-disconnect, invalid-elicitation-answer,
    /// malformed-sampling-result, reuse-expired-session, send-garbage, no-delete, no-reissue,
    /// omit-mcp-headers.
    #[arg(long, value_name = "RULE", value_parser = parse_client_fault)]
    misbehave: Vec<mcp_harness::scenario::ClientFault>,
    /// Declare the tasks extension (2026-07-28) and follow the call as a task
    /// (also when MCP_CONFORMANCE_SCENARIO names tasks).
    #[arg(long)]
    tasks: bool,
}

fn parse_client_fault(text: &str) -> Result<mcp_harness::scenario::ClientFault, String> {
    serde_json::from_value(serde_json::Value::String(text.replace('-', "_")))
        .map_err(|_| format!("`{text}` is not a client fault (see --help)"))
}

/// Which server (`run`, `explore`, `profile`): the reference agents by default.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// Test the server at this URL (already running: no restarts).
    #[arg(long, value_name = "URL", conflicts_with = "server_cmd")]
    server_url: Option<String>,
    /// Start the server with this command; `{port}` is replaced by a free port
    /// (over stdio there is no port: the server speaks on its stdin and stdout).
    #[arg(long, value_name = "CMD")]
    server_cmd: Option<String>,
    /// How the harness talks to the server: `http` (streamable HTTP) or
    /// `stdio` (newline-delimited JSON-RPC on the stdin and stdout of the
    /// --server-cmd process; without --server-cmd, the reference agents'
    /// `serve --stdio`). Defaults to the profile's `transport`, else http.
    #[arg(long, value_enum, value_name = "TRANSPORT")]
    transport: Option<TransportArg>,
    /// The MCP endpoint's path on a --server-cmd server.
    #[arg(long, default_value = "/mcp", value_name = "PATH")]
    server_path: String,
    /// Allow a --server-url that is not on this machine's loopback.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Send this header on every HTTP request to the server, e.g.
    /// 'X-Api-Key: abc' (repeatable). Transcripts and reports never hold its
    /// value.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Send `Authorization: Bearer TOKEN` on every HTTP request to the server;
    /// transcripts keep only its fingerprint. Prefer the environment
    /// variable: a command line is visible to every user of the machine.
    #[arg(
        long,
        env = "MCP_HARNESS_BEARER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = secret
    )]
    bearer_token: Option<Secret>,
}

/// A credential from the command line or the environment: its `Debug` never
/// shows it.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

fn secret(text: &str) -> Result<Secret, String> {
    if text.trim().is_empty() {
        return Err("the token is empty".to_owned());
    }
    Ok(Secret(text.to_owned()))
}

/// `diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    /// A line per change, regressions first.
    Human,
    /// The changes as one JSON object.
    Json,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TransportArg {
    /// Streamable HTTP.
    Http,
    /// stdin and stdout of the server process.
    Stdio,
}

/// Which server to test (`run`, `explore`) and how its tools map to roles.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Map the server's tools to roles (elicits, samples, progress, long_running).
    #[arg(long, value_name = "FILE")]
    profile: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ProfileArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The protocol version to ask the server in.
    #[arg(long, default_value = "2025-11-25", value_name = "VERSION")]
    version: String,
    /// How long the server may take to start and to answer.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    start_timeout: Duration,
    /// Write the profile to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<std::path::PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
struct ExploreArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Only these protocol versions (repeatable).
    #[arg(long = "version", value_name = "VERSION")]
    versions: Vec<String>,
    /// How many random schedules to try (shrinking runs come on top).
    #[arg(long, default_value_t = 32, value_name = "N")]
    cases: u32,
    /// The scenario folder to write the minimal failing scenario into; it goes
    /// in the subfolder of its spec area (`DIR/streams/explored_<hash>.toml`).
    #[arg(long, default_value = "scenarios", value_name = "DIR")]
    out: std::path::PathBuf,
    /// How long a started server may take to answer.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    start_timeout: Duration,
    /// How long one schedule may take.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    case_timeout: Duration,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Only scenarios whose `id@version` contains one of these strings, or
    /// that carry one of them as a tag (`chaos`: those that inject a fault;
    /// `http`, `stdio`: their transports). Ids name a spec area first
    /// (`streams/`, `elicitation/`): `mcp-harness scenarios list` shows them.
    filters: Vec<String>,
    #[command(flatten)]
    target: TargetArgs,
    /// Run the scenario files under DIR instead of the built-in ones (its
    /// `client/` folder holds client scenarios, for `client-test`, and is
    /// left out).
    #[arg(long, value_name = "DIR")]
    scenarios: Option<std::path::PathBuf>,
    /// Also run the scenario files under DIR (repeatable).
    #[arg(long = "add-scenarios", value_name = "DIR")]
    add_scenarios: Vec<std::path::PathBuf>,
    /// Only these protocol versions (repeatable).
    #[arg(long = "version", value_name = "VERSION")]
    versions: Vec<String>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Also write report.html (a sequence diagram per case), report.json, junit.xml
    /// and the transcripts here.
    #[arg(long, value_name = "DIR")]
    out: Option<std::path::PathBuf>,
    /// Write normalized transcripts as insta snapshots here (.snap.new where they differ).
    #[arg(long, value_name = "DIR")]
    snapshots: Option<std::path::PathBuf>,
    /// Failures to expect: lines of `scenario@version check-id  # reason`.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<std::path::PathBuf>,
    /// How long a started server may take to answer.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    start_timeout: Duration,
    /// How long one tool call may wait for its result before the client gives up.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    call_timeout: Duration,
    /// How long one whole case may take; a case stopped at this limit fails,
    /// with the transcript up to that point.
    #[arg(long, default_value = "90s", value_parser = parse_duration, value_name = "DURATION")]
    case_timeout: Duration,
    /// Records of a case's transcript kept in memory (more are counted and the
    /// case fails, saying so).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    max_records: usize,
    /// Megabytes of bodies and event data a case's transcript keeps in memory.
    #[arg(long, default_value_t = 32, value_name = "MB")]
    max_record_mb: usize,
    /// The largest SSE event accepted from the server, in KB (a larger one ends
    /// its stream with a recorded error).
    #[arg(long, default_value_t = 16 * 1024, value_name = "KB")]
    max_event_kb: usize,
    /// Cases run at once (each with its own proxy and ports, on a server of
    /// its own while it runs; started servers are reused case after case);
    /// cases mostly wait, so the default is four times the cores, at most 16. Cases
    /// whose client never answers (they only wait) run beside these, up to as
    /// many again. A server that refuses a session at the start of a case
    /// (connection refused, 503, 429) gets half as many at once from then
    /// on, said on stderr, and the case runs again.
    #[arg(long, short = 'j', default_value_t = default_jobs(), value_name = "N")]
    jobs: usize,
    /// Keep running cases after 3 in a row failed at a time limit (by default
    /// the rest then fail at once: the target has stopped answering).
    #[arg(long)]
    keep_going: bool,
    /// Judge conformance only: a call lost to a fault (resilience) is reported
    /// but does not make the exit code 1.
    #[arg(long)]
    conformance_only: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// Readable text with a per-check summary.
    Human,
    /// The versioned JSON report.
    Json,
    /// JUnit XML.
    Junit,
}

#[derive(Debug, clap::Args)]
struct ProxyArgs {
    /// The server's base URL (its path, e.g. /mcp, is what clients ask for).
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// Where clients connect.
    #[arg(long, default_value = "127.0.0.1:8007", value_name = "ADDR")]
    listen: SocketAddr,
    /// Where the Toxiproxy-compatible API listens (ignored with --toxiproxy-url).
    #[arg(long, default_value = "127.0.0.1:8474", value_name = "ADDR")]
    api: SocketAddr,
    /// Write the transcript (JSON Lines, versioned) to this file as it happens.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// An SSE fault rule as JSON (repeatable), e.g. {"fault":"stall","after":1,"ms":2000}.
    #[arg(long = "fault", value_name = "JSON")]
    faults: Vec<String>,
    /// Use this real Toxiproxy server for the TCP toxics instead of our own.
    #[arg(long, env = "TOXIPROXY_URL", value_name = "URL")]
    toxiproxy_url: Option<String>,
    /// Allow an upstream that is not on this machine's loopback.
    #[arg(long)]
    allow_non_loopback: bool,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on. Binds loopback only unless you give another address.
    #[arg(long, default_value = "127.0.0.1:8006", value_name = "ADDR")]
    listen: SocketAddr,
    /// Serve one client over stdin and stdout instead of HTTP (newline-delimited
    /// JSON-RPC; logs on stderr; exits when stdin closes).
    #[arg(long, conflicts_with_all = ["listen", "allow_hosts", "allow_origins"])]
    stdio: bool,
    /// Multiplies every step's sleep: 1 is the original 2 s a step, 0.01 makes a call take milliseconds.
    #[arg(long, default_value_t = 1.0, value_name = "F", value_parser = parse_time_scale)]
    time_scale: f64,
    /// Durable store: an SQLite file path (created if missing), or `memory` for none.
    #[arg(long, default_value = "memory", value_name = "PATH|memory")]
    store: StoreChoice,
    /// How long a run waits for the client's elicitation or sampling answer before it fails.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    input_timeout: Duration,
    /// Largest accepted request body in bytes (larger ones get 413).
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    max_body_bytes: usize,
    /// The SSE `retry:` hint of each stream's priming event.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    sse_retry: Duration,
    /// Also accept this Host name (repeatable); loopback names are always accepted.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Also accept this browser Origin, e.g. https://app.example:443 (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Serve only requests with `Authorization: Bearer TOKEN` (a fixed token,
    /// no authorization server); the others get 401 and a `WWW-Authenticate`
    /// challenge. Test with `run --bearer-token`.
    #[arg(
        long,
        env = "MCP_HARNESS_SERVE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = secret,
        conflicts_with = "stdio"
    )]
    require_token: Option<Secret>,
}

fn parse_time_scale(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!(
            "`{text}` is out of range (hint: use 0 to 100; 1 is real time)"
        ));
    }
    Ok(value)
}

/// Parse `250ms`, `5s`, `2m` or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (hint: 250ms, 5s, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "`{text}` has unknown unit `{unit}` (hint: ms, s or m)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,mcp_harness=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MCP_HARNESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::HarnessError.into();
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Proxy(args) => proxy(args).await,
            Command::Run(args) => run(args).await,
            Command::Explore(args) => explore(args).await,
            Command::Profile(args) => profile(args).await,
            Command::Host(args) => host(args).await,
            Command::ClientTest(args) => client_test(args).await,
            Command::Check { transcript } => check(&transcript),
            Command::Diff { old, new, format } => report::diff(&old, &new, format),
            Command::Report {
                path,
                output,
                client,
            } => report(&path, output.as_deref(), client),
            Command::StdioTap { record, command } => {
                let command: Vec<String> = command
                    .iter()
                    .map(|word| mcp_harness::run::shell_quote(word))
                    .collect();
                mcp_harness::stdio_tap::stdio_tap(&record, &command.join(" ")).await?;
                Ok(Exit::Passed.into())
            }
            Command::Scenarios(command) => Ok(scenarios::scenarios(command)),
            Command::Schema => Ok(scenarios::schema()),
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::HarnessError.into()
        }
    }
}

/// Cases at once by default: four times the cores, at most 16. Cases mostly
/// wait (the built-in suite, release build, 2 cores: 13.7 s at -j 4, 7.5 s
/// at -j 8, with 5 s of CPU either way), and a server that refuses sessions
/// gets fewer (see `throttle`).
fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 4)
        .unwrap_or(4)
        .min(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5h").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn loopback_urls() {
        for url in [
            "http://127.0.0.1:8006",
            "http://localhost/mcp",
            "http://[::1]:80/x",
            "http://127.9.9.9",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://10.0.0.1:8006",
            "http://example.com/mcp",
            "nonsense",
            "http://[2001:db8::1]:80",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn help_prints_the_exit_code_table() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        assert!(help.contains(Exit::table().trim_end()), "{help}");
    }
}
