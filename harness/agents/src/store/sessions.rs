//! [`DurableSessionStore`]: rmcp's `SessionStore` over a [`Backend`], so a restarted
//! server still knows the sessions it had (and replays their streams).

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};

use super::Backend;

/// Saves each session's `initialize` parameters in the backend.
pub struct DurableSessionStore {
    backend: Arc<dyn Backend>,
}

impl DurableSessionStore {
    /// A session store over `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }
}

#[async_trait::async_trait]
impl SessionStore for DurableSessionStore {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let backend = self.backend.clone();
        let id = session_id.to_owned();
        let saved = tokio::task::spawn_blocking(move || backend.session_load(&id)).await??;
        Ok(match saved {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        })
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let backend = self.backend.clone();
        let id = session_id.to_owned();
        let json = serde_json::to_string(state)?;
        tokio::task::spawn_blocking(move || backend.session_save(&id, &json)).await??;
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let backend = self.backend.clone();
        let id = session_id.to_owned();
        tokio::task::spawn_blocking(move || backend.session_delete(&id)).await??;
        Ok(())
    }
}
