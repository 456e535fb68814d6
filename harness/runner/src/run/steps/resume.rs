//! The `resume` step: one GET with a chosen `Last-Event-ID` (a named call's
//! first or last event id, the last one a named GET stream delivered, or one
//! written as is), read for what the server replays.

use std::time::Duration;

use crate::run::StepResult;
use crate::run::script::{MAIN_SESSION, Script, step_result};
use crate::scenario::{ResumeExpect, ResumeFrom, ResumeStep};

impl Script<'_> {
    /// Play a `resume` step.
    pub(in crate::run) async fn resume(&mut self, n: usize, step: &ResumeStep) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let ResumeStep {
            of,
            from,
            last_event_id,
            session,
            wait_ms,
            expect,
        } = step;
        // A named GET stream: resume it from the last event it delivered.
        if let (Some(name), None) = (of, last_event_id)
            && let Some((owner, stream)) = self.get_streams.get(name)
        {
            let Some(id) = stream.last_event_id() else {
                return done(
                    true,
                    format!(
                        "the GET stream `{name}` delivered no event id: there is nothing to resume from"
                    ),
                );
            };
            let who = session.clone().unwrap_or_else(|| owner.clone());
            let client = match self.session(&who).await {
                Ok(client) => client,
                Err(e) => return done(false, e.to_string()),
            };
            return match client
                .resume_once(&id, None, Duration::from_millis(*wait_ms))
                .await
            {
                Ok(probe) => done(
                    true,
                    format!(
                        "resume of the GET stream `{name}` from {id:?} as session {who}: HTTP {}",
                        probe.status
                    ),
                ),
                Err(e) => done(
                    true,
                    format!("resume of the GET stream `{name}` from {id:?}: {e}"),
                ),
            };
        }
        let named = match of {
            Some(name) => match self.calls.get(name) {
                Some(named) => Some(named.clone()),
                None => {
                    return done(
                        false,
                        format!(
                            "`of = \"{name}\"` names no earlier call or GET stream (hint: give a call or an `open_get_stream` step `name = \"{name}\"`)"
                        ),
                    );
                }
            },
            None => None,
        };
        let id = match (last_event_id, &named) {
            (Some(literal), _) => literal.clone(),
            (None, Some(named)) => {
                let id = match from {
                    ResumeFrom::Last => named.last_event_id.clone(),
                    ResumeFrom::First => named.first_event_id.clone(),
                };
                match id {
                    Some(id) => id,
                    None => {
                        return done(
                            true,
                            "the call received no event id: there is nothing to resume from (the server offers no resumption)".into(),
                        );
                    }
                }
            }
            (None, None) => {
                return done(false, "a resume step needs `of` or `last_event_id`".into());
            }
        };
        let who = session
            .clone()
            .or_else(|| named.as_ref().map(|c| c.session.clone()))
            .unwrap_or_else(|| MAIN_SESSION.to_owned());
        let request = named.as_ref().map(|c| c.request_id);
        let client = match self.session(&who).await {
            Ok(client) => client,
            Err(e) => return done(false, e.to_string()),
        };
        match client
            .resume_once(&id, request, Duration::from_millis(*wait_ms))
            .await
        {
            Ok(probe) => {
                let got = if probe.response.is_some() {
                    "the call's response"
                } else {
                    "no response"
                };
                let ok = *expect == ResumeExpect::Any || probe.response.is_some();
                let mut detail = format!(
                    "resume from {id:?} as session {who}: HTTP {}, {got}",
                    probe.status
                );
                if !ok {
                    detail.push_str(" (expected the call's response)");
                }
                done(ok, detail)
            }
            Err(e) => done(
                *expect == ResumeExpect::Any,
                format!("resume from {id:?}: {e}"),
            ),
        }
    }
}
