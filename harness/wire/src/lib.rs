//! The wire model of mcp-harness: decoding server-sent events and describing
//! what crossed the wire. Pure, deterministic, no I/O.
#![warn(missing_docs)]

pub mod credential;
pub mod fault;
pub mod header_value;
pub mod sse;
pub mod stdio_route;
pub mod transcript;

pub use fault::{
    Fault, FaultMark, FaultPhase, HoldUntil, PipeFault, ProcessFault, StreamFault, ToxicType,
    UpgradeV1,
};
pub use sse::{SseBlock, SseDecoder, SseError, SseEvent};
pub use transcript::{
    Body, Delivery, EndReason, Headers, JsonText, ProcessEvent, Record, Side, TRANSCRIPT_FORMAT,
    TRANSCRIPT_VERSION, Transcript, TranscriptError, WireEvent,
};
