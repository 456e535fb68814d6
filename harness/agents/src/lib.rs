//! Reference MCP agents for mcp-harness: a travel agent (progress + elicitation),
//! a research agent (progress + sampling) and a long-running agent (logging),
//! served over streamable HTTP with resumable, durable SSE streams.
#![warn(missing_docs)]

pub mod behaviour;
pub mod runs;
pub mod serve;
pub mod serve_stdio;
pub mod sessions;
// Logging, sampling and resources/subscribe are deprecated by 2026-07-28 (SEP-2577)
// but are legacy-era features the reference agents exist to exercise.
#[allow(deprecated)]
pub mod server;
pub mod server_info;
pub mod store;

pub use serve::{BearerToken, RunningAgents, ServeConfig, ServeError, StoreChoice, serve};
pub use serve_stdio::serve_stdio;
pub use server::{AgentSettings, AgentsFactory, ReferenceAgents};
