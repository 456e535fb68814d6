//! Command-line interface: argument parsing, logging set-up, and each command
//! ending with an [`Exit`] (the exit codes' one table is `mcp_harness::exit`).

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
    /// Run the scenario files under DIR instead of the built-in ones.
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
            Command::Scenarios(ScenariosCommand::List) => {
                let (scenarios, errors) = mcp_harness::scenario::load_builtin();
                let (clients, client_errors) = mcp_harness::client_test::load_client_builtin();
                for error in errors.iter().chain(&client_errors) {
                    eprintln!("error: {error}");
                }
                let mut seen = std::collections::BTreeSet::new();
                for s in &scenarios {
                    // A role-expanded scenario is one file.
                    let id = s.id.split('.').next().unwrap_or(&s.id);
                    if seen.insert(id.to_owned()) {
                        outln!(
                            "{id:<40} {:<36} {:<16} {}",
                            s.scenario.versions.join(","),
                            s.scenario.tags().join(","),
                            s.scenario.description
                        );
                    }
                }
                for c in &clients {
                    outln!(
                        "{:<40} {:<36} {:<16} {} (client-test)",
                        c.id,
                        c.scenario.versions.join(","),
                        c.scenario.tags().join(","),
                        c.scenario.description
                    );
                }
                Ok(Exit::Passed.into())
            }
            Command::Scenarios(ScenariosCommand::Export { dir, force }) => {
                match mcp_harness::builtin::export(&dir, force) {
                    Ok(n) => {
                        eprintln!(
                            "wrote {n} files to {} (run them with `mcp-harness run --scenarios {}`)",
                            dir.display(),
                            dir.display()
                        );
                        Ok(Exit::Passed.into())
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        Ok(Exit::Usage.into())
                    }
                }
            }
            Command::Schema => {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&mcp_harness::scenario::json_schema())
                        .unwrap_or_default()
                );
                Ok(Exit::Passed.into())
            }
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

/// The target and its profile from the shared target options.
fn target_and_profile(
    args: &TargetArgs,
) -> Result<(mcp_harness::run::Target, mcp_harness::profile::Profile), String> {
    use mcp_harness::profile::Profile;
    use mcp_harness::run::Target;
    let loaded = args.profile.as_deref().map(Profile::load).transpose()?;
    let from_profile = loaded.as_ref().and_then(|p| p.transport);
    let target = target_of_with(&args.server, from_profile)?;
    let profile = match (loaded, &target) {
        (Some(profile), _) => profile,
        (None, Target::Reference { .. } | Target::ReferenceStdio { .. }) => {
            Profile::reference_agents()
        }
        (None, _) => Profile::none("no profile (generic scenarios only)"),
    };
    Ok((target, profile))
}

/// The server to test from the shared server options, checked.
fn target_of(args: &ServerArgs) -> Result<mcp_harness::run::Target, String> {
    target_of_with(args, None)
}

/// [`target_of`], with the transport a profile names (`--transport` wins).
fn target_of_with(
    args: &ServerArgs,
    profile_transport: Option<mcp_harness::scenario::Transport>,
) -> Result<mcp_harness::run::Target, String> {
    use mcp_harness::run::Target;
    use mcp_harness::scenario::Transport;
    let server_url = args.server_url.as_deref();
    let server_cmd = args.server_cmd.as_deref();
    let transport = match args.transport {
        Some(TransportArg::Stdio) => Transport::Stdio,
        Some(TransportArg::Http) => Transport::Http,
        None => profile_transport.unwrap_or(Transport::Http),
    };
    if transport == Transport::Stdio {
        if let Some(url) = server_url {
            return Err(format!(
                "--server-url `{url}` is an HTTP server, but the transport is stdio (hint: give the command that starts the server with --server-cmd)"
            ));
        }
        return match server_cmd {
            Some(cmd) if cmd.contains("{port}") => Err(format!(
                "--server-cmd `{cmd}` has `{{port}}`, but a stdio server takes no port: it speaks on its stdin and stdout (hint: drop `{{port}}`, or use --transport http)"
            )),
            Some(cmd) => Ok(Target::StdioCommand {
                command: cmd.to_owned(),
            }),
            None => Ok(Target::ReferenceStdio {
                exe: std::env::current_exe().map_err(|e| e.to_string())?,
            }),
        };
    }
    if let Some(url) = server_url {
        if !url.starts_with("http://") {
            return Err(format!("--server-url `{url}` is not an http:// URL"));
        }
        if !args.allow_non_loopback && !is_loopback_url(url) {
            return Err(format!(
                "--server-url `{url}` is not on this machine's loopback (hint: pass --allow-non-loopback to test a server elsewhere)"
            ));
        }
    }
    if let Some(cmd) = server_cmd
        && !cmd.contains("{port}")
    {
        return Err(format!(
            "--server-cmd `{cmd}` has no `{{port}}` (hint: the harness picks the port, e.g. \"python server.py --port {{port}}\")"
        ));
    }
    let target = match (server_url, server_cmd) {
        (Some(url), _) => Target::Url(url.to_owned()),
        (None, Some(cmd)) => Target::Command {
            command: cmd.to_owned(),
            path: args.server_path.clone(),
        },
        (None, None) => Target::Reference {
            exe: std::env::current_exe().map_err(|e| e.to_string())?,
        },
    };
    Ok(target)
}

/// Print the report in `format`; with `out`, also write report.html, report.json, junit.xml,
/// the transcripts and (client tests) the clients' output there. With `live`
/// (as `run` does) the cases' readable lines were printed and their
/// transcripts written as they ended: only the rest is.
fn emit_reports(
    results: &[mcp_harness::run::CaseResult],
    summary: &mcp_harness::report::Summary,
    format: Format,
    out: Option<&std::path::Path>,
    live: bool,
) -> anyhow::Result<()> {
    match format {
        Format::Human if live => out!("{}", mcp_harness::report::human_summary(summary)),
        Format::Human => out!("{}", mcp_harness::report::human(results, summary)),
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&mcp_harness::report::json_report(results, summary))?
        ),
        Format::Junit => outln!("{}", mcp_harness::report::junit(results, summary)),
    }
    if let Some(out) = out {
        std::fs::create_dir_all(out.join("transcripts"))?;
        std::fs::write(
            out.join("report.json"),
            serde_json::to_string_pretty(&mcp_harness::report::json_report(results, summary))?,
        )?;
        std::fs::write(
            out.join("junit.xml"),
            mcp_harness::report::junit(results, summary),
        )?;
        // The transcripts are in `results` even when `live` wrote them already.
        std::fs::write(
            out.join("report.html"),
            mcp_harness::html::render(results, summary),
        )?;
        for case in results {
            let name = case.name().replace('/', "__");
            if !live {
                std::fs::write(
                    out.join("transcripts").join(format!("{name}.jsonl")),
                    case.transcript.to_jsonl(),
                )?;
            }
            if let Some(output) = &case.client_output {
                std::fs::write(
                    out.join("transcripts").join(format!("{name}.client.txt")),
                    output,
                )?;
            }
        }
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// `mcp-harness profile`: list a server's tools and print a starter profile.
async fn profile(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::run::Target;
    if let Err(e) = check_versions(std::slice::from_ref(&args.version)) {
        eprintln!("error: {e}");
        return Ok(Exit::Usage.into());
    }
    if let Some(out) = args.out.as_ref().filter(|o| o.exists() && !args.force) {
        eprintln!(
            "error: `{}` exists (hint: --force overwrites it)",
            out.display()
        );
        return Ok(Exit::Usage.into());
    }
    let target = match target_of(&args.server) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let source = match &target {
        Target::Url(url) => url.clone(),
        Target::Command { command, .. } => format!("started with `{command}`"),
        Target::Reference { .. } => "the built-in reference agents".to_owned(),
        Target::StdioCommand { command } => format!("started with `{command}` (stdio)"),
        Target::ReferenceStdio { .. } => "the built-in reference agents (stdio)".to_owned(),
    };
    let (opened, url) = match mcp_harness::run::open_target(&target, args.start_timeout).await {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Failed.into());
        }
    };
    let listed = list_tools_of(&url, &args.version, args.start_timeout).await;
    opened.close().await;
    let (server, tools) = match listed {
        Ok(listed) => listed,
        Err(e) => {
            eprintln!("error: {source}: {e}");
            return Ok(Exit::Failed.into());
        }
    };
    let mut text = mcp_harness::starter_profile::render(&server, &source, &tools);
    if target.transport() == mcp_harness::scenario::Transport::Stdio {
        // The profile says how to reach the server, so `run --profile` needs no --transport.
        let after_name = text
            .find("\nname = ")
            .and_then(|at| text[at + 1..].find('\n').map(|end| at + 1 + end + 1));
        if let Some(at) = after_name {
            text.insert_str(at, "transport = \"stdio\"\n");
        }
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?;
            eprintln!(
                "wrote {} ({} tools); confirm its roles, then: mcp-harness run ... --profile {}",
                path.display(),
                tools.len(),
                path.display()
            );
        }
        None => out!("{text}"),
    }
    Ok(Exit::Passed.into())
}

/// The server's name and every tool it lists (all pages), asked in `version`.
async fn list_tools_of(
    url: &str,
    version: &str,
    limit: Duration,
) -> Result<(String, Vec<serde_json::Value>), String> {
    use mcp_harness::client::ScriptedClient;
    let mut client = ScriptedClient::new(url, version, Default::default(), serde_json::json!({}));
    client.set_call_limit(limit);
    let answer = client
        .connect()
        .await
        .map_err(|e| format!("no answer to the first request: {e}"))?;
    let Some(result) = answer.get("result") else {
        return Err(format!(
            "the first request (in {version}) was refused: {} (hint: --version another version)",
            answer.get("error").unwrap_or(&answer)
        ));
    };
    if result.pointer("/capabilities/tools").is_none() {
        return Err("the server declares no tools capability: there is nothing to profile".into());
    }
    let server = result
        .pointer("/serverInfo/name")
        .or_else(|| result.pointer("/_meta/io.modelcontextprotocol~1serverInfo/name"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("my-server")
        .to_owned();
    let listing = mcp_harness::discovery::list_all(&mut client, "tools/list", "tools").await;
    if let Some(why) = &listing.stopped {
        if listing.items.is_empty() {
            return Err(format!("tools/list: {why}"));
        }
        eprintln!("warning: the listing stopped early: {why}");
    }
    let _ = client.delete_session().await;
    Ok((server, listing.items))
}

/// The cases (scenario x version) that `versions` (all when empty) and
/// `filters` pick from `files`, described by `about` as (id, versions,
/// tags); a note on stderr for each filter that named a former id.
fn select_cases<'a, T>(
    files: &'a [T],
    versions: &[String],
    filters: &[String],
    about: impl Fn(&'a T) -> (&'a String, &'a Vec<String>, Vec<&'static str>),
) -> Vec<(&'a T, String)> {
    let mut candidates = Vec::new();
    let mut names = Vec::new();
    for file in files {
        let (id, file_versions, tags) = about(file);
        for version in file_versions {
            if versions.is_empty() || versions.contains(version) {
                candidates.push((file, version.clone()));
                names.push((format!("{id}@{version}"), tags.clone()));
            }
        }
    }
    let (picked, notes) = mcp_harness::plan::pick(&names, filters);
    for note in notes {
        eprintln!("note: {note}");
    }
    picked
        .into_iter()
        .map(|index| candidates[index].clone())
        .collect()
}

/// The `--expected-failures` file, if one is given; its notes (lines that
/// name a scenario by a former id) go to stderr.
fn load_baseline(path: Option<&std::path::Path>) -> Result<mcp_harness::report::Baseline, String> {
    let Some(path) = path else {
        return Ok(mcp_harness::report::Baseline::default());
    };
    let baseline = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| mcp_harness::report::Baseline::parse(&t))
        .map_err(|e| format!("--expected-failures `{}`: {e}", path.display()))?;
    for note in &baseline.notes {
        eprintln!("note: --expected-failures `{}`: {note}", path.display());
    }
    Ok(baseline)
}

/// `mcp-harness client-test`: run client scenarios against a client command.
async fn client_test(args: ClientTestArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::client_test::{ClientLimits, load_client_dir, run_client_case_over};
    use mcp_harness::report::Summary;
    if let Some(dir) = args.scenarios.as_ref().filter(|d| !d.is_dir()) {
        eprintln!(
            "error: no client scenario directory `{}` (hint: leave --scenarios out for the built-in ones)",
            dir.display()
        );
        return Ok(Exit::Usage.into());
    }
    let baseline = match load_baseline(args.expected_failures.as_deref()) {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let (scenarios, errors) = match &args.scenarios {
        Some(dir) => load_client_dir(dir),
        None => mcp_harness::client_test::load_client_builtin(),
    };
    for error in &errors {
        eprintln!("error: {error}");
    }
    let cases = select_cases(&scenarios, &args.versions, &args.filters, |file| {
        (&file.id, &file.scenario.versions, file.scenario.tags())
    });
    if let Err(message) = check_versions(&args.versions) {
        eprintln!("error: {message}");
        return Ok(Exit::Usage.into());
    }
    if cases.is_empty() {
        eprintln!("error: no client scenario matches (hint: check the filters and --version)");
        return Ok(Exit::Usage.into());
    }
    let exe = std::env::current_exe()?;
    let limits = ClientLimits {
        start: Duration::from_secs(30),
        client: args.client_timeout,
    };
    let mut results = Vec::new();
    for (file, version) in cases {
        let transport = match args.transport {
            TransportArg::Http => mcp_harness::scenario::Transport::Http,
            TransportArg::Stdio => mcp_harness::scenario::Transport::Stdio,
        };
        results.push(
            run_client_case_over(file, &version, &args.client_cmd, &exe, limits, transport).await,
        );
    }
    let summary = Summary::of(&results, &baseline);
    emit_reports(&results, &summary, args.format, args.out.as_deref(), false)?;
    Ok(if !errors.is_empty() {
        Exit::Usage.into()
    } else if summary.passed() {
        Exit::Passed.into()
    } else {
        Exit::Failed.into()
    })
}

/// `mcp-harness host`: the reference host.
async fn host(args: HostArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::host::{HostOptions, run_host, tool_for_scenario};
    use mcp_harness::scenario::ElicitationAnswer;
    let Some(url) = args.url.clone().or(args.endpoint.clone()) else {
        eprintln!("error: no endpoint (hint: mcp-harness host http://127.0.0.1:8006/mcp)");
        return Ok(Exit::Usage.into());
    };
    let arguments: serde_json::Value = match serde_json::from_str(&args.arguments) {
        Ok(value) => value,
        Err(e) => {
            eprintln!("error: --arguments is not JSON: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let tool = match args.tool.as_deref() {
        Some("travel") => "travel_agent".to_owned(),
        Some("research") => "research_agent".to_owned(),
        Some("long_running") => "long_running_agent".to_owned(),
        Some(name) => name.to_owned(),
        None => tool_for_scenario(&scenario).to_owned(),
    };
    let version = args
        .version
        .clone()
        .or_else(|| std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").ok())
        .unwrap_or_else(|| "2025-11-25".into());
    let interactive =
        args.ask || (args.answer.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin()));
    let answer = match args.answer.as_deref().unwrap_or("accept") {
        "decline" => ElicitationAnswer::Decline,
        "cancel" => ElicitationAnswer::Cancel,
        _ => ElicitationAnswer::Accept { content: None },
    };
    let options = HostOptions {
        url,
        version,
        tool,
        arguments,
        answer,
        sample_text: args.sample_text.clone(),
        token_file: args.token_file.clone(),
        timeout: args.timeout,
        misbehave: args.misbehave.clone(),
        tasks: args.tasks || scenario.contains("tasks"),
        interactive,
        sample_cmd: args.sample_cmd.clone(),
    };
    let outcome = match run_host(&options).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Failed.into());
        }
    };
    let is_error = outcome
        .call
        .result
        .as_ref()
        .and_then(|r| r.get("isError"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    match (
        &outcome.call.result,
        &outcome.call.error,
        &outcome.call.gave_up,
    ) {
        (Some(_), _, _) if !is_error => Ok(Exit::Passed.into()),
        (Some(_), _, _) => Ok(Exit::Failed.into()),
        (None, Some(error), _) => {
            eprintln!("error: the server answered {error}");
            Ok(Exit::Failed.into())
        }
        (None, None, why) => {
            eprintln!("error: no result: {}", why.as_deref().unwrap_or("unknown"));
            Ok(Exit::Failed.into())
        }
    }
}

/// `mcp-harness explore`: property-based search over fault schedules.
async fn explore(args: ExploreArgs) -> anyhow::Result<ExitCode> {
    let (target, profile) = match target_and_profile(&args.target) {
        Ok(chosen) => chosen,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(Exit::Usage.into());
        }
    };
    let versions = if args.versions.is_empty() {
        vec![
            "2025-06-18".into(),
            "2025-11-25".into(),
            "2026-07-28".into(),
        ]
    } else {
        args.versions.clone()
    };
    let limits = mcp_harness::run::Limits {
        start: args.start_timeout,
        case: args.case_timeout,
        call: args.case_timeout,
        ..mcp_harness::run::Limits::default()
    };
    let out = args.out.clone();
    let cases = args.cases;
    let found = match tokio::task::spawn_blocking(move || {
        mcp_harness::explore::explore(&target, &profile, versions, cases, limits, &out)
    })
    .await?
    {
        Ok(found) => found,
        Err(e @ mcp_harness::explore::ExploreError::NoFlows(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
        Err(e) => return Err(e.into()),
    };
    let (skipped, why_skipped) = &found.skipped;
    if *skipped > 0 && found.failure.is_none() {
        let why = why_skipped.as_deref().unwrap_or("no reason given");
        if *skipped == found.runs {
            eprintln!(
                "error: every one of the {skipped} fault schedules was skipped, so nothing was tested: {why}"
            );
            return Ok(Exit::Usage.into());
        }
        eprintln!(
            "note: {skipped} of {} fault schedules were skipped ({why})",
            found.runs
        );
    }
    match found.failure {
        None => {
            outln!(
                "no check failed in {} fault schedules ({} asked for{})",
                found.runs - skipped,
                cases,
                if *skipped > 0 {
                    format!(", {skipped} skipped")
                } else {
                    String::new()
                }
            );
            Ok(Exit::Passed.into())
        }
        Some((schedule, why, path)) => {
            outln!(
                "a check failed after {} schedule runs (shrinking included)",
                found.runs
            );
            outln!("minimal schedule: {schedule:?}");
            outln!("why: {why}");
            outln!(
                "wrote {} (run it with `mcp-harness run --scenarios {}`)",
                path.display(),
                path.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            Ok(Exit::Failed.into())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store_note = match &args.store {
        StoreChoice::Memory => "in memory (nothing survives a restart)".to_owned(),
        StoreChoice::Sqlite(path) => format!("in {}", path.display()),
    };
    if args.stdio {
        let settings = AgentSettings {
            time_scale: args.time_scale,
            input_timeout: args.input_timeout,
        };
        eprintln!("reference agents on stdio (state {store_note}); closing stdin stops them");
        mcp_harness_agents::serve_stdio(settings, args.store).await?;
        return Ok(Exit::Passed.into());
    }
    let agents = mcp_harness_agents::serve(ServeConfig {
        listen: args.listen,
        settings: AgentSettings {
            time_scale: args.time_scale,
            input_timeout: args.input_timeout,
        },
        store: args.store,
        max_body_bytes: args.max_body_bytes,
        sse_retry: args.sse_retry,
        extra_hosts: args.allow_hosts,
        extra_origins: args.allow_origins,
        ..ServeConfig::default()
    })
    .await?;
    eprintln!(
        "reference agents on {} (tools: travel_agent, research_agent, long_running_agent, itinerary_agent; state {store_note}); Ctrl-C stops",
        agents.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping");
    agents.shutdown().await;
    Ok(Exit::Passed.into())
}

/// Whether `url` names a loopback host (127.0.0.0/8, ::1 or localhost).
fn is_loopback_url(url: &str) -> bool {
    let Some(authority) = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
    else {
        return false;
    };
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn proxy(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    if !args.allow_non_loopback && !is_loopback_url(&args.upstream) {
        eprintln!(
            "error: upstream `{}` is not on this machine's loopback (hint: pass --allow-non-loopback if you really mean to send chaos to another host)",
            args.upstream
        );
        return Ok(Exit::Usage.into());
    }
    let mut rules = Vec::new();
    for (at, text) in args.faults.iter().enumerate() {
        match serde_json::from_str::<mcp_harness_chaos::FaultRule>(text) {
            Ok(rule) if rule.select.role.is_some() => {
                eprintln!(
                    "error: --fault #{} selects by `role`, which needs a target profile: the proxy has none (hint: name the tool, \"select\":{{\"tool\":\"my_tool\"}})",
                    at + 1
                );
                return Ok(Exit::Usage.into());
            }
            Ok(rule) => rules.push(rule),
            Err(e) => {
                eprintln!(
                    "error: --fault #{} is not a fault rule: {e} (hint: {{\"fault\":\"cut\",\"after\":2,\"select\":{{\"tool\":\"travel_agent\"}}}})",
                    at + 1
                );
                return Ok(Exit::Usage.into());
            }
        }
    }
    let mut config = mcp_harness_chaos::StackConfig::new(&args.upstream);
    config.listen = args.listen;
    config.api = Some(args.api);
    config.record = args.record.clone();
    config.remote = args.toxiproxy_url.clone();
    let stack = match mcp_harness_chaos::ChaosStack::start(config).await {
        Ok(stack) => stack,
        Err(mcp_harness_chaos::StackError::BadUpstream(url)) => {
            eprintln!("error: upstream `{url}` is not an http://host:port URL");
            return Ok(Exit::Usage.into());
        }
        Err(e) => return Err(e.into()),
    };
    for rule in rules {
        stack.add_fault(rule);
    }
    eprintln!(
        "recording proxy on {} -> {}",
        stack.base_url(),
        args.upstream
    );
    match (stack.api_addr(), &args.toxiproxy_url) {
        (Some(api), _) => eprintln!("toxiproxy API on http://{api} (proxy name `mcp`)"),
        (None, Some(url)) => eprintln!("TCP toxics on the Toxiproxy at {url} (proxy name `mcp`)"),
        _ => {}
    }
    if let Some(path) = &args.record {
        eprintln!("transcript to {}", path.display());
    }
    eprintln!("Ctrl-C stops");
    let _ = tokio::signal::ctrl_c().await;
    stack.recorder().flush();
    stack.shutdown().await;
    Ok(Exit::Passed.into())
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

/// `Err` naming the first of `versions` that is no MCP protocol version.
fn check_versions(versions: &[String]) -> Result<(), String> {
    let known = mcp_harness_checks::analysis::KNOWN_VERSIONS;
    match versions.iter().find(|v| !known.contains(&v.as_str())) {
        Some(bad) => Err(format!(
            "--version `{bad}` is no MCP protocol version (hint: one of {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Take out the scenarios with a fault that selects a tool none of their
/// calls makes with `profile` (by name, or through the role it binds): an
/// error each, naming the file and line, as a malformed file is.
fn faults_that_cannot_fire(
    scenarios: &mut Vec<mcp_harness::scenario::ScenarioFile>,
    profile: &mcp_harness::profile::Profile,
) -> Vec<mcp_harness::scenario::ScenarioError> {
    use mcp_harness::scenario::{Role, ScenarioError, faults::tools_never_called};
    let bound = |name: &str| {
        Role::parse(name)
            .and_then(|role| profile.roles.get(&role))
            .map(|binding| binding.tool.clone())
    };
    let mut errors = Vec::new();
    scenarios.retain(|file| {
        let never = tools_never_called(&file.scenario.faults, &file.scenario.steps, bound);
        let Some(first) = never.first() else {
            return true;
        };
        // The line of the first `[[faults]]` table, where the file can be read.
        let line = std::fs::read_to_string(&file.path)
            .ok()
            .and_then(|text| {
                text.lines()
                    .position(|l| l.trim() == "[[faults]]")
                    .map(|at| at + 1)
            })
            .unwrap_or(0);
        let known = errors
            .iter()
            .any(|e: &ScenarioError| e.path == file.path.display().to_string());
        if !known {
            errors.push(ScenarioError {
                path: file.path.display().to_string(),
                line,
                column: 1,
                message: format!("{first} (profile `{}`)", profile.name),
            });
        }
        false
    });
    errors
}

/// A note on stderr per deprecated form a scenario file uses (once per file).
fn print_deprecations(scenarios: &[mcp_harness::scenario::ScenarioFile]) {
    let mut seen = std::collections::BTreeSet::new();
    for file in scenarios {
        if seen.insert(&file.path) {
            for note in &file.scenario.notes {
                eprintln!("note: {}: {note}", file.path.display());
            }
        }
    }
}

/// The scenarios of a run: the built-in ones, or those of `replace`, plus
/// those of each `add` folder (an id already taken is an error).
fn load_scenarios(
    replace: Option<&std::path::Path>,
    add: &[std::path::PathBuf],
) -> Result<
    (
        Vec<mcp_harness::scenario::ScenarioFile>,
        Vec<mcp_harness::scenario::ScenarioError>,
    ),
    String,
> {
    use mcp_harness::scenario::{load_builtin, load_dir};
    for dir in replace.into_iter().chain(add.iter().map(|d| d.as_path())) {
        if !dir.is_dir() {
            return Err(format!(
                "no scenario directory `{}` (hint: `mcp-harness scenarios export DIR` writes the built-in ones out to start from)",
                dir.display()
            ));
        }
    }
    let (mut scenarios, mut errors) = match replace {
        Some(dir) => load_dir(dir),
        None => load_builtin(),
    };
    for dir in add {
        let (more, more_errors) = load_dir(dir);
        errors.extend(more_errors);
        for scenario in more {
            if let Some(taken) = scenarios.iter().find(|s| s.id == scenario.id) {
                return Err(format!(
                    "`{}` has the id `{}` of `{}` (hint: rename it, or --scenarios DIR to replace the built-in set)",
                    scenario.path.display(),
                    scenario.id,
                    taken.path.display()
                ));
            }
            scenarios.push(scenario);
        }
    }
    Ok((scenarios, errors))
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::report::Summary;
    use mcp_harness::run::Limits;

    let usage = |message: String| {
        eprintln!("error: {message}");
        Ok(Exit::Usage.into())
    };
    // A server's address written where filters go would run the built-in
    // agents, filtered by a string no case contains.
    if let Some(url) = args
        .filters
        .iter()
        .find(|f| f.starts_with("http://") || f.starts_with("https://"))
    {
        return usage(format!(
            "`{url}` is read as a scenario filter (hint: --server-url {url} tests the server there)"
        ));
    }
    let (target, profile) = match target_and_profile(&args.target) {
        Ok(chosen) => chosen,
        Err(message) => return usage(message),
    };
    let baseline = match load_baseline(args.expected_failures.as_deref()) {
        Ok(baseline) => baseline,
        Err(e) => return usage(e),
    };
    let (mut scenarios, mut errors) =
        match load_scenarios(args.scenarios.as_deref(), &args.add_scenarios) {
            Ok(loaded) => loaded,
            Err(message) => return usage(message),
        };
    errors.extend(faults_that_cannot_fire(&mut scenarios, &profile));
    for error in &errors {
        eprintln!("error: {error}");
    }
    print_deprecations(&scenarios);
    let cases = select_cases(&scenarios, &args.versions, &args.filters, |s| {
        (&s.id, &s.scenario.versions, s.scenario.tags())
    });
    if let Err(message) = check_versions(&args.versions) {
        eprintln!("error: {message}");
        return Ok(Exit::Usage.into());
    }
    if cases.is_empty() {
        return usage("no scenario matches (hint: check the filters and --version)".into());
    }
    let limits = Limits {
        start: args.start_timeout,
        case: args.case_timeout,
        call: args.call_timeout,
        records: mcp_harness_chaos::RecordLimits {
            max_records: args.max_records,
            max_bytes: args.max_record_mb << 20,
        },
        max_event_bytes: args.max_event_kb << 10,
    };
    let live = mcp_harness::progress::LiveProgress::new(
        cases.len(),
        matches!(args.format, Format::Human),
        args.conformance_only,
    );
    // One request first: a target that never answers fails every case with
    // that cause, at once, instead of each case waiting out its time limits.
    let first_version = cases[0].1.clone();
    if let Err(cause) =
        mcp_harness::run::preflight(&target, &first_version, args.start_timeout).await
    {
        let hint = match &target {
            mcp_harness::run::Target::Url(_) => "is the server up, on that URL?",
            mcp_harness::run::Target::StdioCommand { .. } => {
                "does the command speak MCP on its stdin and stdout?"
            }
            _ => "does the command serve MCP on {port}?",
        };
        eprintln!(
            "error: {cause}\nerror: every case fails without being run (hint: {hint} --start-timeout sets the wait)"
        );
        let results: Vec<_> = cases
            .iter()
            .map(|(scenario, version)| {
                mcp_harness::run::CaseResult::not_run(
                    &scenario.id,
                    version,
                    format!("not run: the pre-flight request failed: {cause}"),
                )
            })
            .collect();
        let summary = Summary::of(&results, &baseline);
        emit_reports(&results, &summary, args.format, args.out.as_deref(), false)?;
        return Ok(Exit::Failed.into());
    }
    // With --out, each case's transcript is written as it happens.
    let transcripts = args.out.as_ref().map(|out| out.join("transcripts"));
    if let Some(dir) = &transcripts {
        std::fs::create_dir_all(dir)?;
    }
    let options = mcp_harness::suite::SuiteOptions {
        jobs: args.jobs,
        keep_going: args.keep_going,
        start_timeout: args.start_timeout,
        limits,
        transcripts,
    };
    let notes = |line: String| eprintln!("{line}");
    let results = mcp_harness::suite::run_suite(
        &cases, &target, &profile, &options, &live, &baseline, &notes,
    )
    .await;
    live.finish();
    let mut summary = Summary::of(&results, &baseline);
    if args.conformance_only {
        summary.ignore_resilience();
    }
    emit_reports(&results, &summary, args.format, args.out.as_deref(), true)?;
    if let Some(dir) = &args.snapshots {
        let changed = mcp_harness::snapshot::write_snapshots(dir, &results)?;
        eprintln!(
            "snapshots in {}: {changed} new or changed (.snap.new; review with `cargo insta review --workspace-root {}`)",
            dir.display(),
            dir.display()
        );
    }
    Ok(if !errors.is_empty() {
        Exit::Usage.into()
    } else if summary.passed() {
        Exit::Passed.into()
    } else {
        Exit::Failed.into()
    })
}

/// `mcp-harness report`: draw a stored run (an `--out` folder or one
/// transcript) as a self-contained HTML page.
fn report(
    path: &std::path::Path,
    output: Option<&std::path::Path>,
    client: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = if path.is_dir() {
        if client {
            eprintln!(
                "error: --client is for a transcript file; a folder's report.json already holds its verdicts"
            );
            return Ok(Exit::Usage.into());
        }
        mcp_harness::stored_run::read_out_folder(path)
    } else {
        mcp_harness::stored_run::read_transcript(path, client)
    };
    let (cases, summary) = match loaded {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let output = match output {
        Some(output) => output.to_owned(),
        None if path.is_dir() => path.join("report.html"),
        None => path.with_extension("html"),
    };
    if let Err(e) = std::fs::write(&output, mcp_harness::html::render(&cases, &summary)) {
        eprintln!("error: cannot write `{}`: {e}", output.display());
        return Ok(Exit::Usage.into());
    }
    eprintln!(
        "wrote {} ({} cases, {} records)",
        output.display(),
        cases.len(),
        cases
            .iter()
            .map(|c| c.transcript.records.len())
            .sum::<usize>()
    );
    Ok(Exit::Passed.into())
}

fn check(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let transcript = match mcp_harness::stored_run::parse_transcript(path) {
        Ok(transcript) => transcript,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let verdicts = mcp_harness_checks::judge(&transcript);
    let mut failed = false;
    for verdict in &verdicts {
        outln!(
            "{:<13} {} ({})",
            verdict.outcome.name(),
            verdict.check,
            verdict.citation
        );
        for finding in &verdict.findings {
            outln!(
                "              record {}: {}; expected {}",
                finding
                    .seq
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                finding.observed,
                finding.expected
            );
        }
        failed |= verdict.outcome == mcp_harness_checks::Outcome::Fail;
    }
    Ok(if failed {
        Exit::Failed.into()
    } else {
        Exit::Passed.into()
    })
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
