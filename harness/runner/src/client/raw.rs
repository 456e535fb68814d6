//! A request sent exactly as a step describes it (wrong headers on purpose).

use super::*;

impl ScriptedClient {
    /// Send a request exactly as described; returns the status.
    pub async fn raw(
        &self,
        method: &str,
        headers: &[(String, String)],
        session: &str,
        body: Option<&str>,
    ) -> Result<u16, ClientError> {
        let method: reqwest::Method = method
            .parse()
            .map_err(|_| ClientError::Protocol(format!("`{method}` is not an HTTP method")))?;
        let mut request = self
            .http
            .request(method, &self.url)
            .header("Accept", "application/json, text/event-stream");
        let mut has_version = false;
        for (name, value) in headers {
            has_version |= name.eq_ignore_ascii_case("mcp-protocol-version");
            request = request.header(name, value);
        }
        if !has_version {
            request = request.header("MCP-Protocol-Version", &self.version);
        }
        match session {
            "current" => {
                if let Some(session) = &self.session {
                    request = request.header("Mcp-Session-Id", session);
                }
            }
            "none" => {}
            literal => request = request.header("Mcp-Session-Id", literal),
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.map_err(http_error("raw request"))?;
        let status = response.status().as_u16();
        // Do not hang on a stream a raw request may have opened.
        let _ = tokio::time::timeout(Duration::from_millis(200), response.bytes()).await;
        Ok(status)
    }
}
