//! Serve the reference agents over stdio to the one client that started the
//! process: newline-delimited JSON-RPC on stdin and stdout, nothing else on
//! stdout (logs go to stderr), and an exit once stdin closes.

use rmcp::ServiceExt;

use crate::serve::{ServeError, StoreChoice, open_store};
use crate::server::{AgentSettings, AgentsFactory};

/// Serve one stdio session until the client closes stdin (or the session
/// breaks); the store is `store`, as for HTTP.
pub async fn serve_stdio(settings: AgentSettings, store: StoreChoice) -> Result<(), ServeError> {
    let (_backend, runs) = open_store(&store).await?;
    let factory = AgentsFactory::new(settings, runs);
    let running = factory
        .handler()
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| ServeError::Stdio(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Stdio(e.to_string()))?;
    Ok(())
}
