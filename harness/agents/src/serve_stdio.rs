//! Serve the reference agents over stdio to the one client that started the
//! process: newline-delimited JSON-RPC on stdin and stdout, nothing else on
//! stdout (logs go to stderr), and an exit once stdin closes.
//!
//! Two pumps stand between the pipes and rmcp. The one on stdout stamps
//! `serverInfo` into every 2026-07-28 result (a result with a `resultType`),
//! as the HTTP layer does. The one on stdin sees the client close it: the
//! agents then finish what is in flight for at most [`DRAIN_ON_CLOSE`] and
//! exit, instead of waiting on a call that waits for an answer that cannot
//! come (a question to the client, a `subscriptions/listen` stream).

use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::serve::{ServeError, StoreChoice, open_store};
use crate::server::{AgentSettings, AgentsFactory};
use crate::server_info::stamp_message;

/// How long the agents may finish in-flight work once stdin has closed.
pub const DRAIN_ON_CLOSE: Duration = Duration::from_millis(500);

/// The pipes between the process's stdin and stdout and rmcp.
const PIPE_BYTES: usize = 1 << 16;

/// One line rmcp wrote, stamped if it is a 2026-07-28 result.
fn stamped(line: &str) -> String {
    let Ok(mut message) = serde_json::from_str::<Value>(line) else {
        return line.to_owned();
    };
    let modern = message
        .get("result")
        .is_some_and(|r| r.get("resultType").is_some());
    if modern && stamp_message(&mut message) {
        return message.to_string();
    }
    line.to_owned()
}

/// Serve one stdio session until the client closes stdin (or the session
/// breaks); the store is `store`, as for HTTP.
pub async fn serve_stdio(settings: AgentSettings, store: StoreChoice) -> Result<(), ServeError> {
    let (_backend, runs) = open_store(&store).await?;
    let factory = AgentsFactory::new(settings, runs);
    let (agents_in, mut feed) = tokio::io::duplex(PIPE_BYTES);
    let (agents_out, written) = tokio::io::duplex(PIPE_BYTES);
    let mut stdin_closed = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut feed).await;
        let _ = feed.shutdown().await;
    });
    let stdout = tokio::spawn(async move {
        let mut lines = BufReader::new(written).lines();
        let mut stdout = tokio::io::stdout();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut out = stamped(&line);
            out.push('\n');
            if stdout.write_all(out.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });
    // The pumps run first: rmcp reads the client's first message before
    // `serve` returns.
    let running = factory
        .handler()
        .serve((agents_in, agents_out))
        .await
        .map_err(|e| ServeError::Stdio(e.to_string()))?;
    let cancel = running.cancellation_token();
    let waiting = running.waiting();
    tokio::pin!(waiting);
    let ended = tokio::select! {
        ended = &mut waiting => ended,
        _ = &mut stdin_closed => match tokio::time::timeout(DRAIN_ON_CLOSE, &mut waiting).await {
            Ok(ended) => ended,
            Err(_) => {
                cancel.cancel();
                waiting.await
            }
        },
    };
    // Everything rmcp wrote reaches stdout before the process ends.
    let _ = tokio::time::timeout(Duration::from_secs(1), stdout).await;
    ended.map_err(|e| ServeError::Stdio(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2026_results_are_stamped() {
        let modern = stamped(r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#);
        assert!(
            modern.contains("io.modelcontextprotocol/serverInfo"),
            "{modern}"
        );
        let legacy = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
        assert_eq!(stamped(legacy), legacy);
        let notification = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#;
        assert_eq!(stamped(notification), notification);
    }
}
