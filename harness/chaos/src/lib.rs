//! The chaos proxy of mcp-harness: it sits between an MCP client and a
//! streamable HTTP server, records what crossed the wire, and breaks the
//! connection in chosen ways (SSE-level faults, Toxiproxy-style TCP toxics,
//! killing and restarting the server process). For a stdio server it starts
//! the process, records its pipes, and puts an HTTP face on it.
#![warn(missing_docs)]

pub mod faults;
pub mod http_proxy;
pub mod process;
pub mod recorder;
pub mod stack;
pub mod stdio;
pub mod stdio_bridge;
pub mod tcp_proxy;
pub mod toxic_control;
pub mod toxics;
pub mod toxiproxy_api;

pub use faults::{ExchangeInfo, FaultPlan, FaultRule, HoldUntil, StreamFault, StreamSelector};
pub use http_proxy::{ProxyConfig, ProxyError, RecordingProxy};
pub use process::{ProcessError, TargetProcess, free_port};
pub use recorder::{RecordLimits, Recorder};
pub use stack::{ChaosStack, StackConfig, StackError};
pub use stdio::{FromServer, PipeFaults, ShutdownStep, StdioError, StdioServer};
pub use stdio_bridge::StdioBridge;
pub use tcp_proxy::{TcpProxy, ToxicChangeError};
pub use toxic_control::{ControlError, RemoteToxiproxy, ToxicControl};
pub use toxics::{Stream, Toxic, ToxicError, ToxicKind};
pub use toxiproxy_api::ProxyRegistry;
