//! The `call` and `parallel` steps: tool calls followed to their end (the
//! server's questions answered, its stream resumed, a restart or stdin close
//! at the call's point) and judged against the step's expectation.

use serde_json::Value;

use crate::client::{CallOutcome, ScriptedClient};
use crate::profile::Profile;
use crate::run::StepResult;
use crate::run::restart::RestartHook;
use crate::run::script::{MAIN_SESSION, NamedCall, Script, step_result};
use crate::scenario::{CallStep, Expect};

impl Script<'_> {
    /// Play a `call` step: one tool call, followed to its end.
    pub(in crate::run) async fn call(&mut self, n: usize, call: &CallStep) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let call = &*self.faults.with_process_faults(call);
        let session = call.session.as_deref().unwrap_or(MAIN_SESSION).to_owned();
        let mut hooks = self.hooks(call);
        let profile = self.profile;
        let client = match self.session(&session).await {
            Ok(client) => client,
            Err(e) => return done(false, e.to_string()),
        };
        let (ok, detail, outcome) = play_call(client, call, profile, &mut hooks).await;
        let mut result = done(ok, detail);
        if let Some(outcome) = &outcome {
            self.remember(call, &session, outcome);
            result.result_text = outcome.result.as_ref().map(result_text);
        }
        result
    }

    /// Play a `parallel` step: its calls at once, each in its session.
    pub(in crate::run) async fn parallel(&mut self, n: usize, calls: &[CallStep]) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let calls: Vec<CallStep> = calls
            .iter()
            .map(|call| self.faults.with_process_faults(call).into_owned())
            .collect();
        let calls = &calls;
        let mut clients = Vec::with_capacity(calls.len());
        for call in calls {
            let session = call.session.as_deref().unwrap_or(MAIN_SESSION).to_owned();
            match self.session(&session).await {
                Ok(client) => clients.push((session, client.fork())),
                Err(e) => return done(false, e.to_string()),
            }
        }
        let profile = self.profile;
        let runs = calls
            .iter()
            .zip(clients)
            .map(|(call, (session, mut client))| {
                let mut hooks = self.hooks(call);
                async move {
                    let played = play_call(&mut client, call, profile, &mut hooks).await;
                    (session, played)
                }
            });
        let played = futures::future::join_all(runs).await;
        let mut ok = true;
        let mut details = Vec::new();
        for (call, (session, (call_ok, detail, outcome))) in calls.iter().zip(played) {
            ok &= call_ok;
            details.push(detail);
            if let Some(outcome) = &outcome {
                self.remember(call, &session, outcome);
            }
        }
        done(
            ok,
            format!("{} calls at once: {}", calls.len(), details.join("; ")),
        )
    }

    fn hooks(&self, call: &CallStep) -> RestartHook {
        RestartHook {
            server: self.server.clone(),
            close_stdin_after: call.close_stdin_after_events,
            after: call.restart_after_events,
            after_polls: call.restart_after_task_polls,
            after_server_events: call.restart_after_server_events,
            done: false,
            recorder: self.recorder.clone(),
            kill_id: None,
            close_stdin_id: None,
        }
        .declare(call)
    }

    fn remember(&mut self, call: &CallStep, session: &str, outcome: &CallOutcome) {
        self.timed_out |= outcome.timed_out;
        if self.needs_resumption
            && self.skipped.is_none()
            && outcome.first_event_id.is_none()
            && outcome.last_event_id.is_none()
        {
            self.skipped = Some(format!(
                "the server offers no resumption: the stream of call {} carried no event ids",
                outcome.request_id
            ));
        }
        if let Some(name) = &call.name {
            self.calls.insert(
                name.clone(),
                NamedCall {
                    session: session.to_owned(),
                    request_id: outcome.request_id,
                    first_event_id: outcome.first_event_id.clone(),
                    last_event_id: outcome.last_event_id.clone(),
                },
            );
        }
    }
}

/// Make one call and judge how it ended: (ok, detail, the outcome if the call ran).
async fn play_call(
    client: &mut ScriptedClient,
    call: &CallStep,
    profile: &Profile,
    hooks: &mut RestartHook,
) -> (bool, String, Option<CallOutcome>) {
    let Some(binding) = profile.resolve(&call.tool) else {
        return (
            false,
            format!("the profile has no tool for `{}`", call.tool),
            None,
        );
    };
    let arguments = call.arguments.clone().unwrap_or(binding.arguments);
    client.set_log_level(call.log_level.clone());
    client.set_first_retry(call.first_retry);
    client.set_cancel_task_after_polls(call.cancel_task_after_polls);
    client.set_intruder_after_polls(call.intruder_after_polls);
    match client
        .call(
            &binding.tool,
            &arguments,
            call.progress_token.as_ref(),
            hooks,
        )
        .await
    {
        Ok(outcome) => {
            let (ok, detail) = judge_call(
                &outcome,
                call.expect,
                call.expect_text.as_deref(),
                profile.reference,
            );
            (
                ok,
                format!("call {}: {detail}", binding.tool),
                Some(outcome),
            )
        }
        Err(e) => (false, format!("call {}: {e}", binding.tool), None),
    }
}

fn judge_call(
    outcome: &CallOutcome,
    expect: Expect,
    expect_text: Option<&str>,
    check_text: bool,
) -> (bool, String) {
    let is_error = outcome
        .result
        .as_ref()
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let got = match (&outcome.result, &outcome.error) {
        (Some(_), _) if is_error => Expect::ToolError,
        (Some(_), _) => Expect::Success,
        (None, Some(_)) => Expect::RpcError,
        (None, None) => Expect::NoResult,
    };
    let text = outcome.result.as_ref().map(result_text).unwrap_or_default();
    let mut detail = format!("{got:?}");
    if let Some(error) = &outcome.error {
        detail.push_str(&format!(" {error}"));
    }
    if let Some(reason) = &outcome.gave_up {
        detail.push_str(&format!(" ({reason})"));
    }
    if outcome.recoveries > 0 {
        detail.push_str(&format!(", {} recoveries", outcome.recoveries));
    }
    let mut ok = got == expect || expect == Expect::Any;
    if !ok {
        detail = format!("expected {expect:?}, got {detail}");
    }
    if let (Some(want), true) = (expect_text, check_text)
        && !text.contains(want)
    {
        ok = false;
        detail.push_str(&format!("; the result does not contain {want:?}: {text:?}"));
    }
    (ok, detail)
}

/// The text blocks of a tool result, joined.
fn result_text(result: &Value) -> String {
    result
        .get("content")
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ended_with(result: Option<Value>, error: Option<Value>) -> CallOutcome {
        CallOutcome {
            result,
            error,
            ..CallOutcome::default()
        }
    }

    #[test]
    fn a_call_is_judged_by_how_it_ended_and_by_its_text() {
        let booked = ended_with(
            Some(json!({"content": [{"type": "text", "text": "booked: Lisbon"}]})),
            None,
        );
        assert!(judge_call(&booked, Expect::Success, Some("booked"), true).0);
        let (ok, detail) = judge_call(&booked, Expect::Success, Some("cancelled"), true);
        assert!(!ok);
        assert!(
            detail.contains("does not contain \"cancelled\""),
            "{detail}"
        );
        // A server that is not the reference agents is not held to their text.
        assert!(judge_call(&booked, Expect::Success, Some("cancelled"), false).0);
        let (ok, detail) = judge_call(&booked, Expect::ToolError, None, true);
        assert!(!ok);
        assert!(
            detail.starts_with("expected ToolError, got Success"),
            "{detail}"
        );

        let tool_error = ended_with(Some(json!({"isError": true, "content": []})), None);
        assert!(judge_call(&tool_error, Expect::ToolError, None, true).0);
        let rpc_error = ended_with(None, Some(json!({"code": -32602})));
        assert!(judge_call(&rpc_error, Expect::RpcError, None, true).0);
        let lost = CallOutcome {
            gave_up: Some("the stream ended without the response".into()),
            ..CallOutcome::default()
        };
        let (ok, detail) = judge_call(&lost, Expect::Success, None, true);
        assert!(!ok);
        assert!(
            detail.contains("NoResult (the stream ended without the response)"),
            "{detail}"
        );
        assert!(judge_call(&lost, Expect::Any, None, true).0);
    }
}
