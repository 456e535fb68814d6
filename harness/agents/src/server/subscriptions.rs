//! Who subscribed to which run resource, and the task that tells them of
//! changes (legacy `resources/subscribe`); and the 2026-07-28
//! `subscriptions/listen` stream, which carries `notifications/resources/updated`
//! for the run URIs it names and `notifications/resources/list_changed` when a
//! new run appears.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::model::{
    ResourceListChangedNotification, ResourceUpdatedNotification, ResourceUpdatedNotificationParam,
    ServerNotification,
};
use rmcp::service::SubscriptionContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer};
use tokio::sync::broadcast::error::RecvError;

use crate::runs::RunStore;

/// The sessions (handler id and peer) subscribed to each URI.
type Subscribers = HashMap<String, Vec<(u64, Peer<RoleServer>)>>;

/// Subscriptions of legacy sessions to run resources (`resources/subscribe`).
#[derive(Clone, Default)]
pub struct Subscriptions {
    by_uri: Arc<Mutex<Subscribers>>,
}

impl Subscriptions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Subscribers> {
        self.by_uri.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Session `session` (a handler instance) wants updates of `uri`.
    pub fn add(&self, uri: &str, session: u64, peer: Peer<RoleServer>) {
        let mut by_uri = self.lock();
        let peers = by_uri.entry(uri.to_owned()).or_default();
        if !peers.iter().any(|(s, _)| *s == session) {
            peers.push((session, peer));
        }
    }

    /// Session `session` no longer wants updates of `uri`.
    pub fn remove(&self, uri: &str, session: u64) {
        let mut by_uri = self.lock();
        if let Some(peers) = by_uri.get_mut(uri) {
            peers.retain(|(s, _)| *s != session);
            if peers.is_empty() {
                by_uri.remove(uri);
            }
        }
    }

    /// Forward every run change to its subscribers until the run store is dropped.
    pub fn spawn_notifier(&self, runs: &RunStore) -> tokio::task::JoinHandle<()> {
        let mut changes = runs.subscribe();
        let subscriptions = self.clone();
        tokio::spawn(async move {
            loop {
                let uri = match changes.recv().await {
                    Ok(uri) => uri,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let peers: Vec<_> = subscriptions.lock().get(&uri).cloned().unwrap_or_default();
                for (session, peer) in peers {
                    if peer
                        .notify_resource_updated(
                            rmcp::model::ResourceUpdatedNotificationParam::new(uri.clone()),
                        )
                        .await
                        .is_err()
                    {
                        subscriptions.remove(&uri, session);
                    }
                }
            }
        })
    }
}

/// Serve one `subscriptions/listen` stream until the client closes it.
pub async fn listen(runs: &RunStore, context: SubscriptionContext) -> Result<(), McpError> {
    let mut changes = runs.subscribe();
    let accepted = context.accepted().clone();
    let wanted = accepted.resource_subscriptions.clone().unwrap_or_default();
    let list_changes = accepted.resources_list_changed == Some(true);
    let mut known: std::collections::HashSet<String> = runs
        .list(10_000)
        .await
        .map(|r| r.iter().map(|run| run.uri()).collect())
        .unwrap_or_default();
    loop {
        let uri = tokio::select! {
            _ = context.cancelled() => return Ok(()),
            change = changes.recv() => match change {
                Ok(uri) => uri,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return Ok(()),
            },
        };
        let mut notes = Vec::new();
        if known.insert(uri.clone()) && list_changes {
            notes.push(ServerNotification::ResourceListChangedNotification(
                ResourceListChangedNotification::default(),
            ));
        }
        if wanted.contains(&uri) {
            notes.push(ServerNotification::ResourceUpdatedNotification(
                ResourceUpdatedNotification::new(ResourceUpdatedNotificationParam::new(uri)),
            ));
        }
        for note in notes {
            if context.sink().send(note).await.is_err() {
                return Ok(()); // the stream is gone
            }
        }
    }
}
