//! A tool call followed to its end, in one loop for both eras: a cut stream
//! is resumed (legacy, see `resume`) or the request re-issued (2026-07-28),
//! input rounds are answered and retried, a task is followed.

use super::*;

impl ScriptedClient {
    /// Call `tool` with `arguments`, following the call to its end.
    pub async fn call(
        &mut self,
        tool: &str,
        arguments: &Value,
        token: Option<&Value>,
        hooks: &mut impl CallHooks,
    ) -> Result<CallOutcome, ClientError> {
        *lock(&self.last_event_id) = None;
        *lock(&self.first_event_id) = None;
        let outcome = self.call_inner(tool, arguments, token, hooks).await;
        *lock(&self.call_deadline) = None;
        let mut outcome = outcome?;
        outcome.first_event_id = lock(&self.first_event_id).clone();
        outcome.last_event_id = lock(&self.last_event_id).clone();
        Ok(outcome)
    }

    /// How soon the scenario gives up on a call, when sooner than the limit.
    pub(super) fn give_up(&self) -> Option<Duration> {
        self.spec
            .give_up_after_ms
            .map(Duration::from_millis)
            .filter(|after| *after < self.limit)
    }

    /// `outcome` of a call that ran out of time: the scenario's give-up
    /// (`give_up`, not a time limit), or the call limit.
    pub(super) fn out_of_time(
        &self,
        mut outcome: CallOutcome,
        give_up: Option<Duration>,
        what: &str,
    ) -> CallOutcome {
        match give_up {
            Some(after) => {
                outcome.gave_up = Some(format!(
                    "no {what} within {after:?}: the client gave up (the scenario's give_up_after_ms)"
                ));
            }
            None => {
                outcome.gave_up = Some(format!("no {what} within {:?}", self.limit));
                outcome.timed_out = true;
            }
        }
        outcome
    }

    pub(super) async fn call_inner(
        &mut self,
        tool: &str,
        arguments: &Value,
        token: Option<&Value>,
        hooks: &mut impl CallHooks,
    ) -> Result<CallOutcome, ClientError> {
        // A scenario whose subject is a wait gives up sooner, by choice.
        let give_up = self.give_up();
        let deadline = Instant::now() + give_up.unwrap_or(self.limit);
        // Its streams are read until then only when the scenario gives up
        // early; otherwise each read has the call limit, as before.
        *lock(&self.call_deadline) = give_up.map(|_| deadline);
        let mut outcome = CallOutcome::default();
        let mut input_responses: Option<Value> = None;
        let mut request_state: Option<Value> = None;
        let mut first_stream = true;
        loop {
            if Instant::now() > deadline {
                return Ok(self.out_of_time(outcome, give_up, "result"));
            }
            let id = self.take_id();
            outcome.request_id = id;
            hooks.on_request(id, self.session.as_deref());
            let mut params = json!({"name": tool, "arguments": arguments});
            let mut meta = if self.modern() {
                self.meta()
            } else {
                json!({})
            };
            if let Some(token) = token {
                meta["progressToken"] = token.clone();
            }
            if let (true, Some(level)) = (self.modern(), &self.log_level) {
                meta["io.modelcontextprotocol/logLevel"] = json!(level);
            }
            if meta.as_object().is_some_and(|m| !m.is_empty()) {
                params["_meta"] = meta;
            }
            if let Some(responses) = &input_responses {
                params["inputResponses"] = responses.clone();
            }
            if let Some(state) = &request_state {
                params["requestState"] = state.clone();
            }
            let body =
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
            let sent = tokio::time::timeout_at(deadline, self.post(&body).send()).await;
            let Ok(sent) = sent else {
                return Ok(self.out_of_time(outcome, give_up, "response"));
            };
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    // Connection refused or dropped: recover like a cut, a bounded number of times.
                    if outcome.recoveries >= self.spec.max_resumes {
                        outcome.gave_up = Some(format!("could not reach the server: {e}"));
                        outcome.refused = true;
                        return Ok(outcome);
                    }
                    outcome.recoveries += 1;
                    tokio::time::sleep(Duration::from_millis(self.spec.resume_delay_ms.max(100)))
                        .await;
                    continue;
                }
            };
            if response.status().as_u16() == 404
                && self.session.is_some()
                && outcome.recoveries < self.spec.max_resumes
            {
                outcome.recoveries += 1;
                if !self.breaks(crate::scenario::ClientFault::ReuseExpiredSession) {
                    // The session is gone: start a new one and ask again.
                    self.session = None;
                    self.connect().await?;
                }
                continue;
            }
            if !response.status().is_success() && response.status().as_u16() != 202 {
                let status = response.status().as_u16();
                let text = tokio::time::timeout_at(deadline, response.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                if let Ok(message) = serde_json::from_str::<Value>(&text)
                    && let Some(error) = message.get("error")
                {
                    outcome.error = Some(error.clone());
                    return Ok(outcome);
                }
                outcome.gave_up = Some(format!("HTTP {status}: {text}"));
                outcome.refused = status >= 500;
                return Ok(outcome);
            }
            let mut read = self.read(response, id, hooks, first_stream).await?;
            first_stream = false;
            if !self.modern() {
                read = self
                    .resume_cut_stream(read, id, deadline, &mut outcome, hooks)
                    .await;
            }
            let answer = match read {
                Read::Answered(answer) => answer,
                Read::Ended { .. }
                    if self.modern()
                        && outcome.recoveries < self.spec.max_resumes
                        && !self.breaks(crate::scenario::ClientFault::NoReissue) =>
                {
                    // 2026-07-28 has no resumption: re-issue the request with a new id.
                    outcome.recoveries += 1;
                    tokio::time::sleep(self.reconnect_delay()).await;
                    continue;
                }
                // The client stopped reading: the scenario gives up here.
                Read::Ended { .. } if give_up.is_some() && Instant::now() >= deadline => {
                    return Ok(self.out_of_time(outcome, give_up, "response"));
                }
                Read::Ended { .. } => {
                    // The resumes may have said why already (a server that
                    // offers no stream to resume).
                    outcome
                        .gave_up
                        .get_or_insert_with(|| "the stream ended without a response".into());
                    return Ok(outcome);
                }
            };
            if let Some(error) = answer.get("error") {
                outcome.error = Some(error.clone());
                return Ok(outcome);
            }
            let result = answer.get("result").cloned().unwrap_or_default();
            if result.get("resultType").and_then(Value::as_str) == Some("input_required") {
                outcome.rounds += 1;
                if outcome.rounds > 10 {
                    outcome.gave_up = Some("more than 10 input rounds".into());
                    return Ok(outcome);
                }
                let responses = match self.answer_inputs(&result).await {
                    Ok(responses) => responses,
                    // An error answer or silence: there is nothing to send back in
                    // 2026-07-28, so the client stops here (the server's run times out).
                    Err(gave_up) => {
                        outcome.gave_up = Some(gave_up);
                        return Ok(outcome);
                    }
                };
                let mut state = result.get("requestState").cloned();
                let responses = match self.first_retry.filter(|_| outcome.rounds == 1) {
                    Some(how) => depart(how, responses, &mut state),
                    None => responses,
                };
                input_responses = Some(Value::Object(responses));
                request_state = state;
                continue;
            }
            if result.get("resultType").and_then(Value::as_str) == Some("task") {
                self.follow_task(&result, deadline, &mut outcome, hooks)
                    .await?;
                return Ok(outcome);
            }
            outcome.result = Some(result);
            return Ok(outcome);
        }
    }
}
