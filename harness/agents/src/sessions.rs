//! [`GuardedSessionManager`]: rmcp's local session manager, with resumption
//! confined to the session that owns the stream.
//!
//! rmcp's own manager hands any `Last-Event-ID` to the event store without saying
//! whose session asks. This wrapper binds every request stream to its session
//! when the stream's first event passes by, and resumes only streams bound to the
//! asking session, so one session can never replay another's events.

use futures::{Stream, StreamExt};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::common::server_side_http::{ServerSseMessage, SessionId};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use rmcp::transport::streamable_http_server::session::{RestoreOutcome, SessionManager};
use std::sync::Arc;

use crate::store::{ReplayError, ResumableEventStore, StoredEventId};

/// Errors of the guarded session manager.
#[derive(Debug, thiserror::Error)]
pub enum SessionGuardError {
    /// rmcp's session manager failed.
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
    /// A resume was refused.
    #[error("resume refused: {0}")]
    Replay(#[from] ReplayError),
}

/// Local sessions whose streams are stored in a [`ResumableEventStore`].
pub struct GuardedSessionManager {
    inner: LocalSessionManager,
    events: ResumableEventStore,
}

impl GuardedSessionManager {
    /// Sessions whose events go to `events`; request streams start with a
    /// priming event carrying `retry` (the wait a client owes before reconnecting).
    pub fn new(events: ResumableEventStore, retry: std::time::Duration) -> Self {
        let mut inner = LocalSessionManager::default().with_event_store(Arc::new(events.clone()));
        inner.session_config.sse_retry = Some(retry);
        Self { inner, events }
    }

    /// Bind the stream of the first identified event to `session` before the
    /// client can see that id (unless `already_bound`).
    fn bind_first_event(
        &self,
        session: &SessionId,
        stream: impl Stream<Item = ServerSseMessage> + Send + Sync + 'static,
        already_bound: bool,
    ) -> impl Stream<Item = ServerSseMessage> + Send + Sync + 'static {
        let events = self.events.clone();
        let session = session.to_string();
        let mut bound = already_bound;
        stream.then(move |event| {
            let first = !bound && event.event_id.is_some();
            bound |= first;
            let events = events.clone();
            let session = session.clone();
            async move {
                if first {
                    let id = event
                        .event_id
                        .as_deref()
                        .and_then(|id| id.parse::<StoredEventId>().ok());
                    if let Some(id) = id
                        && let Err(e) = events.bind_to_session(id, &session).await
                    {
                        tracing::warn!(error = %e, "could not bind stream to its session");
                    }
                }
                event
            }
        })
    }
}

impl SessionManager for GuardedSessionManager {
    type Error = SessionGuardError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        Ok(self.inner.create_session().await?)
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        Ok(self.inner.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let mut stream = Box::pin(self.inner.create_stream(id, message).await?);
        // rmcp stores and queues the priming event before it returns the stream:
        // bind now, so the stream is never unbound even if the client goes away
        // before reading a byte (an unbound stream would be open to a session-less
        // resume). Without a priming event, bind when the first event passes by.
        let first = futures::FutureExt::now_or_never(stream.next()).flatten();
        let mut bound = false;
        if let Some(event) = first
            .as_ref()
            .and_then(|f| f.event_id.as_deref())
            .and_then(|e| e.parse::<StoredEventId>().ok())
        {
            if let Err(e) = self.events.bind_to_session(event, id.as_ref()).await {
                tracing::warn!(error = %e, "could not bind stream to its session");
            }
            bound = true;
        }
        let stream = futures::stream::iter(first).chain(stream);
        Ok(self.bind_first_event(id, stream, bound))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        // The standalone stream is named after its session, so it is bound already.
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self
            .events
            .replay(Some(id.as_ref()), &last_event_id)
            .await?)
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        Ok(self.inner.restore_session(id).await?)
    }

    fn event_store(
        &self,
    ) -> Option<Arc<dyn rmcp::transport::streamable_http_server::session::store::EventStore>> {
        Some(Arc::new(self.events.clone()))
    }
}
