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
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
