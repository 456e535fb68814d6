//! The tasks extension (2026-07-28): a task followed by polling `tasks/get`,
//! its input answered with `tasks/update`, and another client trying it.

use super::*;

impl ScriptedClient {
    /// Follow a task (2026-07-28 tasks extension) created by a call: poll
    /// `tasks/get` at the interval the server asks for, answer its input
    /// requests with `tasks/update`, and take its final result or error.
    pub(super) async fn follow_task(
        &mut self,
        created: &Value,
        deadline: Instant,
        outcome: &mut CallOutcome,
        hooks: &mut impl CallHooks,
    ) -> Result<(), ClientError> {
        let Some(task_id) = created.get("taskId").and_then(Value::as_str) else {
            outcome.gave_up = Some(format!("a task result without a taskId: {created}"));
            return Ok(());
        };
        let task_id = task_id.to_owned();
        let mut poll = created
            .get("pollIntervalMs")
            .and_then(Value::as_u64)
            .unwrap_or(100);
        let mut answered: std::collections::BTreeSet<String> = Default::default();
        let mut polls = 0u32;
        let mut cancel_sent = false;
        loop {
            if Instant::now() > deadline {
                outcome.gave_up = Some(format!(
                    "task {task_id} did not end within {:?}",
                    self.limit
                ));
                return Ok(());
            }
            // The cancel comes right after its poll (or at once, after none),
            // not a poll interval later: a task the server ends meanwhile
            // (its input timeout, say) would race it.
            if self.cancel_task_after_polls == Some(polls) {
                cancel_sent = true;
                let id = self.take_id();
                let body = json!({"jsonrpc": "2.0", "id": id, "method": "tasks/cancel", "params": {"taskId": task_id, "_meta": self.meta()}});
                let answer = self.request(body).await?;
                if let Some(error) = answer.get("error") {
                    outcome.error = Some(error.clone());
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(poll.clamp(10, 1000))).await;
            // The intruder comes a poll interval in, when the task waits for
            // its creator's answer.
            if self.intruder_after_polls == Some(polls) {
                self.intrude(&task_id).await;
            }
            polls += 1;
            let id = self.take_id();
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tasks/get", "params": {"taskId": task_id, "_meta": self.meta()}});
            let answer = self.request(body).await?;
            hooks.after_task_poll(polls).await;
            if let Some(error) = answer.get("error") {
                outcome.error = Some(error.clone());
                return Ok(());
            }
            let task = answer.get("result").cloned().unwrap_or_default();
            if let Some(ms) = task.get("pollIntervalMs").and_then(Value::as_u64) {
                poll = ms;
            }
            match task.get("status").and_then(Value::as_str) {
                Some("completed") => {
                    outcome.result = Some(task.get("result").cloned().unwrap_or_default());
                    return Ok(());
                }
                Some("failed") => {
                    outcome.error = Some(task.get("error").cloned().unwrap_or(task));
                    return Ok(());
                }
                Some("cancelled") => {
                    outcome.gave_up = Some(format!("task {task_id} was cancelled"));
                    return Ok(());
                }
                // A task the client cancelled is polled to its end, unanswered.
                Some("input_required") if cancel_sent => {}
                Some("input_required") => {
                    let mut responses = serde_json::Map::new();
                    if let Some(requests) = task.get("inputRequests").and_then(Value::as_object) {
                        for (key, request) in requests {
                            if answered.contains(key) {
                                continue; // answered already; the server has not caught up
                            }
                            match self.answer_question(request).await {
                                Some(Ok(answer)) => {
                                    responses.insert(key.clone(), answer);
                                }
                                _ => {
                                    outcome.gave_up = Some(format!(
                                        "the client did not answer input request `{key}` of task {task_id}"
                                    ));
                                    return Ok(());
                                }
                            }
                        }
                    }
                    if responses.is_empty() {
                        continue;
                    }
                    outcome.rounds += 1;
                    answered.extend(responses.keys().cloned());
                    let id = self.take_id();
                    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tasks/update", "params": {"taskId": task_id, "inputResponses": responses, "_meta": self.meta()}});
                    let answer = self.request(body).await?;
                    if let Some(error) = answer.get("error") {
                        outcome.error = Some(error.clone());
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    /// Another client (another bearer token) tries task `task_id`: reads it,
    /// answers it and cancels it. What the server answers is for the checks
    /// (`tasks.owner_only`) to judge; the call goes on either way.
    pub(super) async fn intrude(&mut self, task_id: &str) {
        let owner = self.bearer.replace(INTRUDER_TOKEN.to_owned());
        for (method, extra) in [
            ("tasks/get", json!({})),
            ("tasks/update", json!({"inputResponses": {}})),
            ("tasks/cancel", json!({})),
        ] {
            let id = self.take_id();
            let mut params = json!({"taskId": task_id, "_meta": self.meta()});
            if let (Some(p), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
                p.extend(extra.clone());
            }
            let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
            let _ = self.request(body).await;
        }
        self.bearer = owner;
    }
}
