//! Durable run records: every tool call is a run, readable as a resource at
//! `harness://runs/{id}`, whose status survives a restart.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::store::{Backend, StoreError, now_ms};

/// URI scheme and prefix of run resources.
pub const RUN_URI_PREFIX: &str = "harness://runs/";

/// Where a run is in its life. `Completed`, `Failed`, `Cancelled` and
/// `Interrupted` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The tool is working.
    Working,
    /// The tool waits for the client's answer (elicitation or sampling).
    InputRequired,
    /// The tool finished with a result.
    Completed,
    /// The tool finished with an error.
    Failed,
    /// The user or client cancelled.
    Cancelled,
    /// The server stopped while the run was in flight; it will not finish.
    Interrupted,
}

impl RunStatus {
    /// Whether the run can change no more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Working | Self::InputRequired)
    }
}

/// One tool call's durable record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique id (random).
    pub id: String,
    /// The tool that was called.
    pub tool: String,
    /// Its arguments.
    pub arguments: serde_json::Value,
    /// Current status.
    pub status: RunStatus,
    /// Last progress value (0 to 100).
    pub progress: f64,
    /// Progress messages so far, in order: the run's partial results.
    pub steps: Vec<String>,
    /// What the client must answer before the run goes on (the input requests,
    /// as sent in an `InputRequiredResult`), while the run waits.
    #[serde(default)]
    pub pending_input: Option<serde_json::Value>,
    /// The final `CallToolResult` as JSON, once terminal.
    pub result: Option<serde_json::Value>,
    /// Why the run ended without a result (interrupted, failed to start...).
    #[serde(default)]
    pub note: Option<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last change, ms since the Unix epoch.
    pub updated_ms: i64,
    /// The fingerprint of the credential (`Authorization`) of the call that
    /// started the run, if it carried one: only requests with the same
    /// credential see the run (tasks bound to their creator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl RunRecord {
    /// The run's resource URI.
    pub fn uri(&self) -> String {
        format!("{RUN_URI_PREFIX}{}", self.id)
    }
}

/// Creates, updates and reads run records; announces every change.
#[derive(Clone)]
pub struct RunStore {
    backend: Arc<dyn Backend>,
    changes: broadcast::Sender<String>,
}

impl RunStore {
    /// A run store over `backend`. Runs an earlier process left in flight are
    /// marked [`RunStatus::Interrupted`] here, once, before anything else runs.
    pub fn open(backend: Arc<dyn Backend>) -> Result<Self, StoreError> {
        for mut run in backend.run_list(usize::MAX >> 1)? {
            if !run.status.is_terminal() {
                run.status = RunStatus::Interrupted;
                run.pending_input = None;
                run.note = Some("interrupted: the server stopped before the run finished".into());
                run.updated_ms = now_ms();
                backend.run_put(&run)?;
            }
        }
        Ok(Self {
            backend,
            changes: broadcast::channel(1024).0,
        })
    }

    /// A secret of `len` random bytes named `name`, kept in the store: the
    /// same bytes after a restart on a durable store (so what one process
    /// sealed, the next one opens), new ones in memory.
    pub fn durable_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let slot = format!("mcp-harness:secret:{name}");
        if let Some(hex) = self.backend.session_load(&slot)?
            && let Some(bytes) = from_hex(&hex)
            && bytes.len() == len
        {
            return Ok(bytes);
        }
        let mut bytes = Vec::with_capacity(len + 16);
        while bytes.len() < len {
            bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        bytes.truncate(len);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.backend.session_save(&slot, &hex)?;
        Ok(bytes)
    }

    /// Receives the URI of every run that changes.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    async fn put(&self, run: RunRecord) -> Result<RunRecord, StoreError> {
        let backend = self.backend.clone();
        let stored = run.clone();
        tokio::task::spawn_blocking(move || backend.run_put(&stored))
            .await
            .map_err(|_| StoreError::WriterGone)??;
        let _ = self.changes.send(run.uri());
        Ok(run)
    }

    /// Start a run of `tool` with `arguments`.
    pub async fn start(
        &self,
        tool: &str,
        arguments: serde_json::Value,
        owner: Option<String>,
    ) -> Result<RunRecord, StoreError> {
        let now = now_ms();
        self.put(RunRecord {
            id: uuid::Uuid::new_v4().simple().to_string(),
            tool: tool.to_owned(),
            arguments,
            status: RunStatus::Working,
            progress: 0.0,
            steps: Vec::new(),
            pending_input: None,
            result: None,
            note: None,
            created_ms: now,
            updated_ms: now,
            owner,
        })
        .await
    }

    /// Apply `change` to run `id` and store it. A terminal run is not changed.
    pub async fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut RunRecord),
    ) -> Result<Option<RunRecord>, StoreError> {
        let Some(mut run) = self.get(id).await? else {
            return Ok(None);
        };
        if run.status.is_terminal() {
            return Ok(Some(run));
        }
        change(&mut run);
        run.updated_ms = now_ms();
        self.put(run).await.map(Some)
    }

    /// Read run `id`.
    pub async fn get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let backend = self.backend.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || backend.run_get(&id))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }

    /// The newest runs, at most `limit`.
    pub async fn list(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || backend.run_list(limit))
            .await
            .map_err(|_| StoreError::WriterGone)?
    }
}

/// The bytes of a lowercase hex string, if it is one.
fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect()
}
