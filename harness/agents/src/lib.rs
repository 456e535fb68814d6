//! Reference MCP agents for mcp-harness: a travel agent (progress + elicitation),
//! a research agent (progress + sampling) and a long-running agent (logging),
//! served over streamable HTTP with resumable, durable SSE streams.
#![warn(missing_docs)]

pub mod runs;
pub mod store;
