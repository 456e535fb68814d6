//! The server process of a case and what a call does to it: the hook that
//! kills and restarts the server, or closes its stdin, at the call's point
//! (after N events, task polls or server events), each recorded as a fault.

use std::sync::Arc;
use std::time::Duration;

use mcp_harness_chaos::StdioServer;
use mcp_harness_wire::{Fault, FaultMark, ProcessFault, Transcript, WireEvent};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::client::CallHooks;
use crate::pool::PooledServer;
use crate::run::{Limits, STDIO_EXIT_GRACE};
use crate::scenario::CallStep;

pub(super) struct Server {
    /// An HTTP target's server (from the pool, or the case's own).
    pub(super) http: Option<PooledServer>,
    /// A stdio target's process.
    pub(super) stdio: Option<Arc<StdioServer>>,
    pub(super) limits: Limits,
}

pub(super) struct RestartHook {
    pub(super) server: Arc<Mutex<Server>>,
    /// stdio: close the server's stdin after this many events, and end the
    /// process as the stdio shutdown says.
    pub(super) close_stdin_after: Option<u32>,
    pub(super) after: Option<u32>,
    pub(super) after_polls: Option<u32>,
    pub(super) after_server_events: Option<u32>,
    pub(super) done: bool,
    pub(super) recorder: Arc<mcp_harness_chaos::Recorder>,
    /// The declared kill, when the call asks for one (its records carry it).
    pub(super) kill_id: Option<u32>,
    /// The declared close of stdin, when the call asks for one.
    pub(super) close_stdin_id: Option<u32>,
}

const KILL: Fault = Fault::Process {
    fault: ProcessFault::Kill,
};
const CLOSE_STDIN: Fault = Fault::Process {
    fault: ProcessFault::CloseStdin,
};

impl RestartHook {
    /// The hooks of `call`, each fault it asks for declared in the transcript.
    pub(super) fn declare(mut self, call: &CallStep) -> Self {
        let declare = |fault: &Fault, when: String| {
            let id = self.recorder.next_fault_id();
            self.recorder
                .fault(FaultMark::declared(id), fault, format!("armed: {when}"));
            id
        };
        let of_call = format!("of the call to `{}`", call.tool);
        if let Some(n) = call.restart_after_events {
            self.kill_id = Some(declare(
                &KILL,
                format!("SIGKILL and restart after {n} events {of_call}"),
            ));
        } else if let Some(n) = call.restart_after_task_polls {
            self.kill_id = Some(declare(
                &KILL,
                format!("SIGKILL and restart after {n} task polls {of_call}"),
            ));
        }
        if let Some(n) = call.close_stdin_after_events {
            self.close_stdin_id = Some(declare(
                &CLOSE_STDIN,
                format!("stdin closed after {n} events {of_call}"),
            ));
        }
        self
    }
}

/// What the server has sent so far on the latest `tools/call` stream, as
/// recorded by the proxy (delivered or withheld).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct CallStreamSoFar {
    /// Its SSE events.
    events: u32,
    /// Whether the latest of them is a request to the client (a question
    /// such as `elicitation/create`): a server that awaits the answer may
    /// send nothing more until it comes.
    awaits_answer: bool,
}

fn latest_call_stream(transcript: &Transcript) -> CallStreamSoFar {
    let mut call = None;
    let mut so_far = CallStreamSoFar::default();
    for record in &transcript.records {
        match &record.event {
            WireEvent::Request { exchange, body, .. }
                if body.json().is_some_and(|b| {
                    b.get("method").and_then(Value::as_str) == Some("tools/call")
                }) =>
            {
                call = Some(*exchange);
                so_far = CallStreamSoFar::default();
            }
            WireEvent::Sse { exchange, data, .. } if Some(*exchange) == call => {
                so_far.events += 1;
                so_far.awaits_answer = data
                    .as_ref()
                    .and_then(|data| data.json())
                    .is_some_and(|m| m.get("method").is_some() && m.get("id").is_some());
            }
            _ => {}
        }
    }
    so_far
}

/// How long a server whose latest event is a question must stay quiet before
/// the kill stops waiting for the events it asked for: the server is waiting
/// for an answer the partitioned client cannot give.
const QUIET_AFTER_QUESTION: Duration = Duration::from_millis(500);

/// How long the kill waits, at most, for the server events it asked for.
const SERVER_EVENTS_LIMIT: Duration = Duration::from_secs(5);

impl CallHooks for RestartHook {
    async fn after_event(&mut self, events: u32) {
        if self.close_stdin_after == Some(events) {
            self.close_stdin_after = None;
            let stdio = self.server.lock().await.stdio.clone();
            if let Some(stdio) = stdio {
                self.recorder.fault(
                    FaultMark::fired(self.close_stdin_id, None),
                    &CLOSE_STDIN,
                    format!("the server's stdin closed after {events} events"),
                );
                stdio.close_stdin().await;
                // As a client ending the session would: wait for the exit,
                // then SIGTERM, then SIGKILL, each after STDIO_EXIT_GRACE, so
                // a server that outlives its stdin ends the call in seconds
                // rather than at the call's time limit. The case's own
                // shutdown waits for this one (both hold the process's lock).
                tokio::spawn(async move {
                    stdio.shutdown(STDIO_EXIT_GRACE).await;
                });
            }
        }
        if self.done || self.after != Some(events) {
            return;
        }
        self.done = true;
        if let Some(wanted) = self.after_server_events {
            self.await_server_events(wanted).await;
        }
        self.restart(&format!("{events} events")).await;
    }

    async fn after_task_poll(&mut self, polls: u32) {
        if self.done || self.after_polls != Some(polls) {
            return;
        }
        self.done = true;
        self.restart(&format!("{polls} task poll(s)")).await;
    }
}

impl RestartHook {
    /// Wait until the server has sent `wanted` events on the call's stream,
    /// until it has asked the client a question and then stayed quiet (it
    /// awaits an answer that cannot come: the evidence is in), or for
    /// [`SERVER_EVENTS_LIMIT`]; the transcript notes a kill that did not get
    /// the events it asked for, and why. The trade-off: a server that would
    /// send more, slower than every 500 ms after its question (or after its
    /// own input timeout), is killed before those events; the kill still
    /// comes after everything it sent up to its question.
    async fn await_server_events(&self, wanted: u32) {
        let started = tokio::time::Instant::now();
        let mut seen = CallStreamSoFar::default();
        let mut changed_at = started;
        loop {
            let now = latest_call_stream(&self.recorder.transcript());
            if now.events >= wanted {
                return;
            }
            if now != seen {
                seen = now;
                changed_at = tokio::time::Instant::now();
            }
            if seen.awaits_answer && changed_at.elapsed() >= QUIET_AFTER_QUESTION {
                self.recorder.note(format!(
                    "the server sent {} of {wanted} events: its latest asks the client a \
                     question and it has sent nothing for {QUIET_AFTER_QUESTION:?} since; \
                     killing it now",
                    seen.events
                ));
                return;
            }
            if started.elapsed() >= SERVER_EVENTS_LIMIT {
                self.recorder.note(format!(
                    "the server did not send {wanted} events within \
                     {SERVER_EVENTS_LIMIT:?}; killing it anyway"
                ));
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// SIGKILL the server and start it again (a target without a process of
    /// ours cannot be restarted: nothing happens).
    async fn restart(&self, after: &str) {
        let mut guard = self.server.lock().await;
        let server = &mut *guard;
        let limit = server.limits.start;
        let process = server.http.as_mut().and_then(|h| h.process.as_mut());
        if server.stdio.is_none() && process.is_none() {
            return;
        }
        self.recorder.fault(
            FaultMark::fired(self.kill_id, None),
            &KILL,
            format!("server SIGKILLed after {after}, restarting"),
        );
        let restarted = match (&server.stdio, process) {
            (Some(stdio), _) => stdio.restart().await,
            (None, Some(process)) => process.restart(limit).await,
            (None, None) => Ok(()),
        };
        if let Err(e) = restarted {
            self.recorder.note(format!("restart failed: {e}"));
        }
    }
}
