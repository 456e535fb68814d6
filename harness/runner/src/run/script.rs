//! The state of a scenario being played (its client sessions, its named
//! calls, the faults it drives) and the dispatch of each step to its family
//! in `steps/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::client::ScriptedClient;
use crate::profile::Profile;
use crate::run::StepResult;
use crate::run::faults::FaultDriver;
use crate::run::restart::Server;
use crate::scenario::Step;

/// What a fault step of the old form says when a scenario built in code
/// plays one (a file's are turned into `[[faults]]` entries when it loads).
const OLD_FAULT_STEP: &str = "a fault step of the old form: write a `[[faults]]` entry with `from_step` (scenario::faults::upgrade_old_forms turns a file's into one)";

/// The session every scenario starts with.
pub(super) const MAIN_SESSION: &str = "main";

/// What a named call left for later steps.
#[derive(Debug, Clone)]
pub(super) struct NamedCall {
    pub(super) session: String,
    pub(super) request_id: i64,
    pub(super) first_event_id: Option<String>,
    pub(super) last_event_id: Option<String>,
}

/// The state of a scenario being played: its client sessions, its named
/// calls, and what it drives (proxy, server).
pub(super) struct Script<'a> {
    pub(super) sessions: &'a mut BTreeMap<String, ScriptedClient>,
    pub(super) calls: BTreeMap<String, NamedCall>,
    /// Named GET streams (`open_get_stream` with a `name`): their session
    /// and what they delivered so far.
    pub(super) get_streams: BTreeMap<String, (String, crate::client::GetStream)>,
    pub(super) recorder: &'a Arc<mcp_harness_chaos::Recorder>,
    pub(super) server: &'a Arc<Mutex<Server>>,
    pub(super) profile: &'a Profile,
    /// The scenario's faults, put in force and cleared at their steps.
    pub(super) faults: FaultDriver<'a>,
    /// Skip the case when a call gets no event id (see `Scenario::needs_resumption`).
    pub(super) needs_resumption: bool,
    /// Why the rest of the case is skipped, once that is known.
    pub(super) skipped: Option<String>,
    /// A call of the case ended at its time limit.
    pub(super) timed_out: bool,
}

pub(super) fn step_result(step: usize, ok: bool, detail: String) -> StepResult {
    StepResult {
        step,
        ok,
        detail,
        cites: None,
        result_text: None,
    }
}

/// A session a step names could not start.
#[derive(Debug, thiserror::Error)]
#[error("session `{name}` could not start: {cause}")]
pub(super) struct SessionError {
    name: String,
    cause: crate::client::ClientError,
}

impl Script<'_> {
    pub(super) fn main(&mut self) -> &mut ScriptedClient {
        self.sessions
            .get_mut(MAIN_SESSION)
            .expect("the main session is never removed")
    }

    /// The client of session `name`, started (initialize or discover) on first use.
    pub(super) async fn session(
        &mut self,
        name: &str,
    ) -> Result<&mut ScriptedClient, SessionError> {
        if !self.sessions.contains_key(name) {
            let mut client = self.main().sibling();
            client.connect().await.map_err(|cause| SessionError {
                name: name.to_owned(),
                cause,
            })?;
            self.sessions.insert(name.to_owned(), client);
        }
        Ok(self.sessions.get_mut(name).expect("inserted above"))
    }

    /// Play step `n` (1-based): the step family's method does the work.
    pub(super) async fn run_step(&mut self, n: usize, step: &Step) -> StepResult {
        match step {
            Step::Call(call) => self.call(n, call).await,
            Step::Parallel { calls } => self.parallel(n, calls).await,
            Step::Resume(resume) => self.resume(n, resume).await,
            Step::Load {
                sessions,
                tool,
                arguments,
            } => self.load(n, *sessions, tool, arguments.as_ref()).await,
            Step::Raw(raw) => self.raw(n, raw).await,
            Step::Request {
                method,
                params,
                expect,
                cites: _,
            } => self.request(n, method, params.as_ref(), *expect).await,
            Step::Discover { what, first } => self.discover(n, *what, *first).await,
            Step::DeleteSession => self.delete_session(n).await,
            Step::Wait { ms } => self.wait(n, *ms).await,
            Step::OpenGetStream { session, name } => {
                self.open_get_stream(n, session.as_deref(), name.as_deref())
                    .await
            }
            Step::Listen { notifications } => self.listen(n, notifications).await,
            Step::AwaitNotifications { count, within_ms } => {
                self.await_notifications(n, *count, *within_ms).await
            }
            // The loader turns these into `[[faults]]` entries; a scenario
            // built in code writes entries.
            Step::Pipe { .. }
            | Step::Fault { .. }
            | Step::Network { .. }
            | Step::Toxic { .. }
            | Step::RemoveToxic { .. } => step_result(n, false, OLD_FAULT_STEP.into()),
        }
    }
}
