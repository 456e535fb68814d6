//! The `load` step: many sessions at once, each calling one tool; refusals
//! are the server's right under load, an accepted call never answered is not.

use serde_json::{Value, json};

use crate::client::NoHooks;
use crate::run::StepResult;
use crate::run::script::{Script, step_result};

impl Script<'_> {
    /// Play a `load` step: `sessions` sessions at once, each calling `tool`.
    pub(in crate::run) async fn load(
        &mut self,
        n: usize,
        sessions: u32,
        tool: &str,
        arguments: Option<&Value>,
    ) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let Some(binding) = self.profile.resolve(tool) else {
            return done(false, format!("the profile has no tool for `{tool}`"));
        };
        let arguments = arguments.cloned().unwrap_or(binding.arguments);
        let template = self.main().sibling();
        let runs = (0..sessions).map(|i| {
            let mut client = template.sibling();
            let tool = binding.tool.clone();
            let arguments = arguments.clone();
            async move {
                if let Err(e) = client.connect().await {
                    return LoadOutcome::Refused(format!("session {}: {e}", i + 1));
                }
                let token = json!(format!("load-{}", i + 1));
                match client
                    .call(&tool, &arguments, Some(&token), &mut NoHooks)
                    .await
                {
                    Ok(outcome) if outcome.result.is_some() || outcome.error.is_some() => {
                        LoadOutcome::Completed
                    }
                    Ok(outcome) if outcome.refused => LoadOutcome::Refused(format!(
                        "session {}: {}",
                        i + 1,
                        outcome.gave_up.unwrap_or_default()
                    )),
                    Ok(outcome) => LoadOutcome::Lost(format!(
                        "session {}: {}",
                        i + 1,
                        outcome.gave_up.unwrap_or_else(|| "no result".into())
                    )),
                    Err(e) => LoadOutcome::Refused(format!("session {}: {e}", i + 1)),
                }
            }
        });
        let outcomes = futures::future::join_all(runs).await;
        let (mut completed, mut refused, mut lost) = (0, Vec::new(), Vec::new());
        for outcome in &outcomes {
            match outcome {
                LoadOutcome::Completed => completed += 1,
                LoadOutcome::Refused(why) => refused.push(why),
                LoadOutcome::Lost(why) => lost.push(why),
            }
        }
        let mut detail = format!(
            "{sessions} sessions calling {}: {completed} completed, {} refused, {} accepted but never answered",
            binding.tool,
            refused.len(),
            lost.len()
        );
        if let Some(first) = refused.first() {
            detail.push_str(&format!("; first refused: {first}"));
        }
        if let Some(first) = lost.first() {
            detail.push_str(&format!("; first lost: {first}"));
        }
        // Refusals are the server's right under load (judged by the checks);
        // an accepted call that never completes is not.
        done(lost.is_empty(), detail)
    }
}

enum LoadOutcome {
    Completed,
    Refused(String),
    Lost(String),
}
