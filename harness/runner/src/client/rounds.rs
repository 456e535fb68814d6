//! Multi round-trip requests (2026-07-28): an `InputRequiredResult` answered
//! and the request retried with `inputResponses` and `requestState`.

use super::*;

impl ScriptedClient {
    /// Send request `method` with `params` (and, in 2026-07-28, the
    /// per-request `_meta`), and wait for its response.
    pub async fn send_request(
        &mut self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let mut params = params.cloned().unwrap_or_else(|| json!({}));
        if !params.is_object() {
            return Err(ClientError::Protocol(format!(
                "the params of `{method}` must be an object, not `{params}`"
            )));
        }
        if self.modern() {
            params["_meta"] = self.meta();
        }
        let mut rounds = 0;
        loop {
            let id = self.take_id();
            let answer = self
                .request(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
                .await?;
            // 2026-07-28: a request that may ask for input is retried with the
            // answers (10 rounds at most); an InputRequiredResult on any other
            // method is the server's fault and is returned as it came.
            let result = answer.get("result").cloned().unwrap_or_default();
            let asks = result.get("resultType").and_then(Value::as_str) == Some("input_required");
            if !(asks && self.modern() && MAY_ASK_FOR_INPUT.contains(&method) && rounds < 10) {
                return Ok(answer);
            }
            rounds += 1;
            let Ok(responses) = self.answer_inputs(&result).await else {
                return Ok(answer);
            };
            params["inputResponses"] = Value::Object(responses);
            match result.get("requestState") {
                Some(state) => params["requestState"] = state.clone(),
                None => {
                    if let Some(p) = params.as_object_mut() {
                        p.remove("requestState");
                    }
                }
            }
        }
    }

    /// Answer every input request of an `InputRequiredResult`; `Err` says which
    /// one the client did not answer (an error answer or silence: 2026-07-28
    /// has no way to send an error back).
    pub(super) async fn answer_inputs(
        &self,
        result: &Value,
    ) -> Result<serde_json::Map<String, Value>, String> {
        let mut responses = serde_json::Map::new();
        if let Some(requests) = result.get("inputRequests").and_then(Value::as_object) {
            for (key, request) in requests {
                match self.answer_question(request).await {
                    Some(Ok(answer)) => {
                        responses.insert(key.clone(), answer);
                    }
                    _ => return Err(format!("the client did not answer input request `{key}`")),
                }
            }
        }
        Ok(responses)
    }
}
