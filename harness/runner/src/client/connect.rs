//! Starting and ending a session, in either era: `initialize` and its
//! acknowledgement (legacy) or `server/discover` (2026-07-28), and `DELETE`.

use super::*;

impl ScriptedClient {
    /// Start: `initialize` + `notifications/initialized` (legacy), or
    /// `server/discover` (2026-07-28).
    pub async fn connect(&mut self) -> Result<Value, ClientError> {
        let limit = self.start_limit.unwrap_or(self.limit);
        // Its answer is read until then, not the call limit (a call that
        // re-initializes mid-way gets its own deadline back after).
        let call = lock(&self.call_deadline).replace(Instant::now() + limit);
        let connected = tokio::time::timeout(limit, self.connect_unbounded()).await;
        *lock(&self.call_deadline) = call;
        connected.map_err(|_| {
            ClientError::TimedOut(format!("no answer to the first request within {limit:?}"))
        })?
    }

    pub(super) async fn connect_unbounded(&mut self) -> Result<Value, ClientError> {
        if self.breaks(crate::scenario::ClientFault::SendGarbage) {
            let _ = self
                .http
                .post(&self.url)
                .header("Accept", "application/json, text/event-stream")
                .header("Content-Type", "application/json")
                .body(&b"\x00\xffnot json at all{{{"[..])
                .send()
                .await;
        }
        let id = self.take_id();
        if self.modern() {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": {"_meta": self.meta()}});
            return self.request(body).await;
        }
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
            "protocolVersion": self.version, "capabilities": self.capabilities(),
            "clientInfo": {"name": "mcp-harness", "version": env!("CARGO_PKG_VERSION")}}});
        let response = self.post(&body).send().await.map_err(|e| {
            if e.is_connect() {
                ClientError::Refused(format!("initialize: the connection was refused: {e}"))
            } else {
                http_error("initialize")(e)
            }
        })?;
        if !response.status().is_success() {
            let status = response.status();
            let at_its_limit = [503, 429].contains(&status.as_u16());
            // What the server (or, over stdio, the bridge) said, in short.
            let said: String = response
                .text()
                .await
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(300)
                .collect();
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            };
            let message = format!("initialize answered HTTP {status}{said}");
            return Err(if at_its_limit {
                ClientError::Refused(message)
            } else {
                ClientError::Protocol(message)
            });
        }
        self.session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = match self.read(response, id, &mut NoHooks, false).await? {
            Read::Answered(answer) => answer,
            Read::Ended { .. } => {
                return Err(ClientError::Protocol("initialize got no response".into()));
            }
        };
        if answer.get("result").is_none() {
            // Refused: there is no session to acknowledge.
            return Ok(answer);
        }
        let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.post(&ack)
            .send()
            .await
            .map_err(http_error("notifications/initialized"))?;
        Ok(answer)
    }

    /// Send DELETE for the session; returns the status.
    pub async fn delete_session(&mut self) -> Result<u16, ClientError> {
        let mut request = self
            .http
            .delete(&self.url)
            .header("MCP-Protocol-Version", &self.version);
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        Ok(tokio::time::timeout(self.limit, request.send())
            .await
            .map_err(|_| {
                ClientError::Protocol(format!("no answer to DELETE within {:?}", self.limit))
            })?
            .map_err(http_error("delete"))?
            .status()
            .as_u16())
    }
}
