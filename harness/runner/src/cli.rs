//! Command-line interface: argument parsing, logging set-up and exit codes.
//!
//! Exit codes: 0 success; 1 a check failed; 2 bad usage or configuration;
//! 3 the harness itself failed (an I/O error, a port that cannot be bound...).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mcp_harness_agents::{AgentSettings, ServeConfig, StoreChoice};

/// Conformance and chaos test harness for the Model Context Protocol.
#[derive(Debug, Parser)]
#[command(name = "mcp-harness", version, about, long_about = None)]
struct Cli {
    /// More log output (repeat for more); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the reference agents (travel, research, long-running) over streamable HTTP.
    ///
    /// Example: mcp-harness serve --time-scale 0.05 --store /tmp/agents.db
    /// then point any MCP client at http://127.0.0.1:8006/mcp
    Serve(ServeArgs),
    /// Run the recording chaos proxy in front of a server.
    ///
    /// Clients connect to --listen; everything is forwarded to --upstream through a
    /// TCP proxy named `mcp` whose toxics you set with any Toxiproxy client on --api.
    ///
    /// Example: mcp-harness proxy --upstream http://127.0.0.1:8006 --record run.jsonl \
    ///   --fault '{"fault":"cut","after":2,"select":{"tool":"travel_agent"}}'
    Proxy(ProxyArgs),
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

/// Exit code for a failure of the harness itself.
const EXIT_HARNESS_ERROR: u8 = 3;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_HARNESS_ERROR);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Proxy(args) => proxy(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_HARNESS_ERROR)
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store_note = match &args.store {
        StoreChoice::Memory => "in memory (nothing survives a restart)".to_owned(),
        StoreChoice::Sqlite(path) => format!("in {}", path.display()),
    };
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
        "reference agents on {} (tools: travel_agent, research_agent, long_running_agent; state {store_note}); Ctrl-C stops",
        agents.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping");
    agents.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Exit code for bad usage or configuration.
const EXIT_USAGE: u8 = 2;

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
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let mut rules = Vec::new();
    for (at, text) in args.faults.iter().enumerate() {
        match serde_json::from_str::<mcp_harness_chaos::FaultRule>(text) {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                eprintln!(
                    "error: --fault #{} is not a fault rule: {e} (hint: {{\"fault\":\"cut\",\"after\":2,\"select\":{{\"tool\":\"travel_agent\"}}}})",
                    at + 1
                );
                return Ok(ExitCode::from(EXIT_USAGE));
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
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        Err(e) => return Err(e.into()),
    };
    for rule in rules {
        stack.faults().add(rule);
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
    Ok(ExitCode::SUCCESS)
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
}
