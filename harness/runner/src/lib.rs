//! The mcp-harness runner: scenarios, the scripted client, targets, runs,
//! normalized snapshots and reports. The `mcp-harness` binary is its CLI.
#![warn(missing_docs)]

pub mod builtin;
pub mod client;
pub mod client_test;
pub mod discovery;
pub mod exit;
pub mod explore;
pub mod host;
pub mod html;
pub mod inputs;
pub mod plan;
pub mod pool;
pub mod profile;
pub mod progress;
pub mod report;
pub mod run;
pub mod run_diff;
pub mod scenario;
pub mod snapshot;
pub mod starter_profile;
pub mod stdio_tap;
pub mod stored_run;
pub mod suite;
pub mod target_headers;
pub mod throttle;
