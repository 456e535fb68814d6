//! The wire model of mcp-harness: decoding server-sent events and describing
//! what crossed the wire. Pure, deterministic, no I/O.
#![warn(missing_docs)]

pub mod sse;

pub use sse::{SseDecoder, SseError, SseEvent};
