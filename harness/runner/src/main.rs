//! `mcp-harness`: the command line. Parses arguments, runs the chosen command,
//! maps failures to the documented exit codes.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
