//! Who subscribed to which run resource, and the task that tells them of changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::{Peer, RoleServer};

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
