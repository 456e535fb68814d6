//! The server's questions to the client (elicitation, sampling, roots, ping),
//! answered as the scenario says, on whichever stream they came.

use super::*;

impl ScriptedClient {
    /// Let `answerer` answer server questions first.
    pub fn set_answerer(&mut self, answerer: Answerer) {
        self.answerer = Some(answerer);
    }

    /// Answer a server question (request JSON with method and params); `None` for silence.
    pub(super) async fn answer_question(&self, request: &Value) -> Option<Result<Value, Value>> {
        if let Some(answerer) = self.answerer.clone() {
            let method = request["method"].as_str().unwrap_or_default().to_owned();
            let params = request.get("params").cloned().unwrap_or_default();
            let answered = tokio::task::spawn_blocking(move || answerer(&method, &params)).await;
            if let Ok(Some(answer)) = answered {
                return Some(answer);
            }
        }
        match request.get("method").and_then(Value::as_str) {
            Some("elicitation/create") => match &self.spec.elicitation {
                ElicitationAnswer::Accept { .. }
                    if self.breaks(crate::scenario::ClientFault::InvalidElicitationAnswer) =>
                {
                    Some(Ok(
                        json!({"action": "accept", "content": {"confirm": "yes"}}),
                    ))
                }
                ElicitationAnswer::Accept { content } => {
                    let content = content.clone().unwrap_or_else(|| {
                        accept_content_for(
                            request.pointer("/params/requestedSchema"),
                            &self.accept_content,
                        )
                    });
                    Some(Ok(json!({"action": "accept", "content": content})))
                }
                ElicitationAnswer::Decline => Some(Ok(json!({"action": "decline"}))),
                ElicitationAnswer::Cancel => Some(Ok(json!({"action": "cancel"}))),
                ElicitationAnswer::Error => Some(Err(
                    json!({"code": -32603, "message": "the user interface failed"}),
                )),
                ElicitationAnswer::Silence => None,
            },
            Some("sampling/createMessage") => match &self.spec.sampling {
                SamplingAnswer::Text(text)
                    if self.breaks(crate::scenario::ClientFault::MalformedSamplingResult) =>
                {
                    Some(Ok(
                        json!({"role": "assistant", "content": {"type": "text", "text": text}}),
                    ))
                }
                SamplingAnswer::Text(text) => Some(Ok(
                    json!({"role": "assistant", "content": {"type": "text", "text": text}, "model": "mcp-harness-scripted", "stopReason": "endTurn"}),
                )),
                SamplingAnswer::Error => Some(Err(
                    json!({"code": -32603, "message": "the model is unavailable"}),
                )),
                SamplingAnswer::Silence => None,
            },
            Some("roots/list") => Some(Ok(json!({"roots": [
                {"uri": SCRIPTED_ROOT, "name": "mcp-harness workspace"}
            ]}))),
            Some("ping") => Some(Ok(json!({}))),
            _ => Some(Err(json!({"code": -32601, "message": "method not found"}))),
        }
    }

    pub(super) async fn answer_server_request(&self, request: &Value) {
        let id = request["id"].clone();
        let reply = match self.answer_question(request).await {
            None => return,
            Some(Ok(result)) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Some(Err(error)) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        let _ = tokio::time::timeout(self.limit, self.post(&reply).send()).await;
        if self.breaks(crate::scenario::ClientFault::AnswerTwice) {
            let _ = tokio::time::timeout(self.limit, self.post(&reply).send()).await;
        }
    }
}
