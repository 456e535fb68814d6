//! Puts a scenario's `[[faults]]` in force and clears them, at their
//! triggers: at the start of the case, when a step starts (`from_step`,
//! `until_step`), and in the calls a process fault selects.

use std::borrow::Cow;
use std::sync::Arc;

use mcp_harness_chaos::{ChaosStack, ControlError, PipeFaults, Recorder};
use mcp_harness_wire::{Fault, FaultMark, PipeFault};
use tokio::sync::Mutex;

use super::{Server, UnboundRole, resolve_rule};
use crate::profile::Profile;
use crate::scenario::{CallStep, FaultEntry, FaultWhat};

/// Why a fault could not be put in force or cleared.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// A proxy fault, on a stdio target.
    #[error("fault `{0}` needs the HTTP chaos proxy: the target speaks stdio")]
    NeedsProxy(String),
    /// A pipe fault, on an HTTP target.
    #[error("fault `pipe` needs a stdio target")]
    NeedsStdio,
    /// A fault selects a role the profile does not bind.
    #[error(transparent)]
    Unbound(#[from] UnboundRole),
    /// A TCP fault the scenario loader let through that is no toxic.
    #[error("toxic {0}: not a toxic")]
    NotAToxic(String),
    /// The toxic could not be added or removed.
    #[error("toxic {name}: {cause}")]
    Toxic { name: String, cause: ControlError },
    /// The network could not be taken down or brought back.
    #[error("network {}: {cause}", if *.up { "up" } else { "down" })]
    Network { up: bool, cause: ControlError },
    /// More than one of the above, at one trigger.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<FaultError>),
}

/// What was put in force for an entry, so it can be cleared.
#[derive(Debug, Clone)]
enum InForce {
    /// A stream rule of the proxy, by its fault id.
    Stream(u32),
    /// A TCP toxic, by name.
    Toxic(String),
    /// The network is down.
    NetworkDown,
    /// The pipes hold lines.
    Pipe,
}

/// The faults of one case and their state.
pub(super) struct FaultDriver<'a> {
    entries: &'a [FaultEntry],
    stack: Option<&'a ChaosStack>,
    server: &'a Arc<Mutex<Server>>,
    recorder: &'a Arc<Recorder>,
    profile: &'a Profile,
    /// Per entry: what it put in force, while it is.
    in_force: Vec<Option<InForce>>,
    /// Per entry: how many calls its selector picked so far (process faults).
    calls_seen: Vec<u32>,
}

impl<'a> FaultDriver<'a> {
    pub(super) fn new(
        entries: &'a [FaultEntry],
        stack: Option<&'a ChaosStack>,
        server: &'a Arc<Mutex<Server>>,
        recorder: &'a Arc<Recorder>,
        profile: &'a Profile,
    ) -> Self {
        Self {
            entries,
            stack,
            server,
            recorder,
            profile,
            in_force: vec![None; entries.len()],
            calls_seen: vec![0; entries.len()],
        }
    }

    /// Put in force the faults of the whole case (no `from_step`).
    pub(super) async fn at_start(&mut self) -> Result<(), FaultError> {
        let mut errors = Vec::new();
        for at in 0..self.entries.len() {
            let entry = &self.entries[at];
            if entry.from_step.is_none()
                && !entry.acts_in_calls()
                && let Err(e) = self.apply(at).await
            {
                errors.push(e);
            }
        }
        joined(errors)
    }

    /// Step `n` (from 1) starts: clear the faults that end there, then put in
    /// force those that begin there.
    pub(super) async fn at_step(&mut self, n: usize) -> Result<(), FaultError> {
        let mut errors = Vec::new();
        for at in 0..self.entries.len() {
            if self.entries[at].until_step == Some(n)
                && let Err(e) = self.clear(at).await
            {
                errors.push(e);
            }
        }
        for at in 0..self.entries.len() {
            if self.entries[at].from_step == Some(n)
                && let Err(e) = self.apply(at).await
            {
                errors.push(e);
            }
        }
        joined(errors)
    }

    async fn apply(&mut self, at: usize) -> Result<(), FaultError> {
        let entry = &self.entries[at];
        let name = entry.name();
        let no_proxy = || FaultError::NeedsProxy(name.to_string());
        let in_force = match &entry.what {
            FaultWhat::Stream(rule) => {
                let stack = self.stack.ok_or_else(no_proxy)?;
                let rule = resolve_rule(rule, self.profile)?;
                InForce::Stream(stack.add_fault(rule))
            }
            FaultWhat::Tcp(body) => {
                let stack = self.stack.ok_or_else(no_proxy)?;
                let toxic = entry
                    .toxic()
                    .ok_or_else(|| FaultError::NotAToxic(body.to_string()))?;
                stack
                    .add_toxic(&toxic)
                    .await
                    .map_err(|cause| FaultError::Toxic {
                        name: toxic.name.clone(),
                        cause,
                    })?;
                InForce::Toxic(toxic.name)
            }
            FaultWhat::NetworkDown => {
                let stack = self.stack.ok_or_else(no_proxy)?;
                stack
                    .set_network(false)
                    .await
                    .map_err(|cause| FaultError::Network { up: false, cause })?;
                InForce::NetworkDown
            }
            FaultWhat::Pipe(holds) => {
                self.set_pipes(*holds).await?;
                InForce::Pipe
            }
            FaultWhat::Kill(_) | FaultWhat::CloseStdin(_) => return Ok(()),
        };
        self.in_force[at] = Some(in_force);
        Ok(())
    }

    async fn clear(&mut self, at: usize) -> Result<(), FaultError> {
        let Some(in_force) = self.in_force[at].take() else {
            return Ok(());
        };
        let Some(stack) = self.stack else {
            return match in_force {
                InForce::Pipe => self.set_pipes(PipeFault::default()).await,
                _ => Ok(()),
            };
        };
        match in_force {
            InForce::Stream(id) => {
                stack.remove_fault(id);
                Ok(())
            }
            InForce::Toxic(name) => stack
                .remove_toxic(&name)
                .await
                .map_err(|cause| FaultError::Toxic { name, cause }),
            InForce::NetworkDown => stack
                .set_network(true)
                .await
                .map_err(|cause| FaultError::Network { up: true, cause }),
            InForce::Pipe => self.set_pipes(PipeFault::default()).await,
        }
    }

    /// Hold the stdio server's pipes as `holds` says (all 0: clear them).
    async fn set_pipes(&self, holds: PipeFault) -> Result<(), FaultError> {
        let stdio = self.server.lock().await.stdio.clone();
        let Some(stdio) = stdio else {
            return Err(FaultError::NeedsStdio);
        };
        let faults = PipeFaults::from(&holds);
        let detail = format!("{faults:?}");
        let mark = if holds.is_none() {
            FaultMark::cleared(None)
        } else {
            FaultMark::fired(None, None)
        };
        self.recorder.fault(mark, &Fault::Pipe { holds }, detail);
        stdio.set_faults(faults);
        Ok(())
    }

    /// `call` with the process faults that select it written into its own
    /// restart and stdin fields (each selector counting the calls it picks).
    pub(super) fn with_process_faults<'c>(&mut self, call: &'c CallStep) -> Cow<'c, CallStep> {
        let mut call = Cow::Borrowed(call);
        for (at, entry) in self.entries.iter().enumerate() {
            let (FaultWhat::Kill(trigger) | FaultWhat::CloseStdin(trigger)) = &entry.what else {
                continue;
            };
            if !trigger.picks(&call) {
                continue;
            }
            self.calls_seen[at] += 1;
            if trigger
                .select
                .occurrence
                .is_some_and(|k| k != self.calls_seen[at])
            {
                continue;
            }
            let own = call.to_mut();
            match &entry.what {
                FaultWhat::Kill(_) => {
                    own.restart_after_events = trigger.after_events.or(own.restart_after_events);
                    own.restart_after_task_polls =
                        trigger.after_polls.or(own.restart_after_task_polls);
                    own.restart_after_server_events = trigger
                        .after_server_events
                        .or(own.restart_after_server_events);
                }
                _ => {
                    own.close_stdin_after_events =
                        trigger.after_events.or(own.close_stdin_after_events);
                }
            }
        }
        call
    }
}

fn joined(mut errors: Vec<FaultError>) -> Result<(), FaultError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(FaultError::Several(errors)),
    }
}
