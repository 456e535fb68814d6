//! The targets stage: started HTTP servers, reused from case to case. A case
//! takes an idle server (or starts one) and gives it back when it ends; at
//! most one case uses a server at a time, so cases are kept apart by their
//! sessions (or by statelessness) and never see each other's traffic. A case
//! that kills, restarts or closes the server's stdin starts its own (see
//! [`crate::scenario::Scenario::needs_own_process`]), as does every case when
//! reuse is off. A server that exited, or whose case ended at a time limit
//! (it may be wedged), is not given out again: the next case starts another.
//! Reference agents are started with the input timeout a case asks for (see
//! [`InputTimeout`]) and given only to cases that ask for the same.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mcp_harness_chaos::TargetProcess;
use tokio::sync::Mutex;

use crate::run::{InputTimeout, Target};
use crate::target_headers::TargetHeaders;

/// A started server: its process, where it serves, and its reference store.
pub struct PooledServer {
    /// The process (none for a URL target).
    pub process: Option<TargetProcess>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The MCP endpoint's path, e.g. `/mcp`.
    pub path: String,
    /// The reference agents' durable store, kept as long as the server runs.
    pub store: Option<tempfile::TempDir>,
    /// The reference agents' input timeout (none for another target, which
    /// has its own and serves any case).
    pub input_timeout: Option<InputTimeout>,
}

impl PooledServer {
    /// Whether its process exited (`Some(how)`): a URL target never does.
    pub fn exited(&mut self) -> Option<String> {
        self.process.as_mut()?.exited()
    }
}

/// Why a server could not be started.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// The servers of one run.
pub struct ServerPool {
    target: Target,
    headers: TargetHeaders,
    start: Duration,
    reuse: bool,
    idle: Mutex<Vec<PooledServer>>,
    started: AtomicU32,
}

impl ServerPool {
    /// A pool of `target`'s servers, each given `start` to come up; with
    /// `reuse` off, every case gets a server of its own.
    pub fn new(target: &Target, start: Duration, reuse: bool) -> Self {
        Self {
            target: target.clone(),
            headers: TargetHeaders::none(),
            start,
            reuse,
            idle: Mutex::new(Vec::new()),
            started: AtomicU32::new(0),
        }
    }

    /// A pool that never reuses (what a lone case uses).
    pub fn single(target: &Target, start: Duration) -> Self {
        Self::new(target, start, false)
    }

    /// The pool, whose cases send `headers` on every request to its servers.
    pub fn with_headers(mut self, headers: TargetHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// The target its servers are of.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// What every request to its servers carries (`run --header`).
    pub fn headers(&self) -> &TargetHeaders {
        &self.headers
    }

    /// How many servers it started.
    pub fn started(&self) -> u32 {
        self.started.load(Ordering::Relaxed)
    }

    /// An idle server that is still running (a reference one waiting
    /// `input_timeout` for answers), or a new one.
    pub async fn take(&self, input_timeout: InputTimeout) -> Result<PooledServer, StartError> {
        if self.reuse {
            let mut idle = self.idle.lock().await;
            // Dead servers go; a live one of another input timeout stays.
            idle.retain_mut(|server| server.exited().is_none());
            let fits =
                |server: &PooledServer| server.input_timeout.is_none_or(|its| its == input_timeout);
            if let Some(at) = idle.iter().rposition(fits) {
                return Ok(idle.remove(at));
            }
        }
        let server = start(&self.target, self.start, input_timeout).await?;
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok(server)
    }

    /// Take `server` back after a case; `reusable` is false when the case
    /// ended at a time limit (the server may be wedged). A server that is not
    /// kept is killed.
    pub async fn give_back(&self, mut server: PooledServer, reusable: bool) {
        if self.reuse && reusable && server.exited().is_none() {
            self.idle.lock().await.push(server);
            return;
        }
        if let Some(process) = server.process.as_mut() {
            process.kill().await;
        }
    }

    /// Stop every idle server.
    pub async fn close(&self) {
        let servers: Vec<PooledServer> = std::mem::take(&mut *self.idle.lock().await);
        for mut server in servers {
            if let Some(process) = server.process.as_mut() {
                process.kill().await;
            }
        }
    }
}

/// Start `target` (a URL needs no start): a process for a command or the
/// reference agents (whose store goes in a new temporary folder, and who wait
/// `input_timeout` for answers).
pub async fn start(
    target: &Target,
    start: Duration,
    input_timeout: InputTimeout,
) -> Result<PooledServer, StartError> {
    let store = match target {
        Target::Reference { .. } => tempfile::tempdir().ok(),
        _ => None,
    };
    let (command, path) = match target {
        Target::Url(url) => {
            let (base, path) = crate::run::split_url(url);
            return Ok(PooledServer {
                process: None,
                base,
                path,
                store: None,
                input_timeout: None,
            });
        }
        Target::Reference { exe } => {
            let store_path = store
                .as_ref()
                .map(|d| d.path().join("agents.db"))
                .unwrap_or_else(|| PathBuf::from("memory"));
            let command = format!(
                "{} serve --listen 127.0.0.1:{{port}} --time-scale 0 --input-timeout {} --sse-retry 20ms --store {}",
                crate::run::shell_quote(&exe.display().to_string()),
                input_timeout.flag(),
                crate::run::shell_quote(&store_path.display().to_string())
            );
            (command, "/mcp".to_owned())
        }
        Target::Command { command, path } => (command.clone(), path.clone()),
        Target::ReferenceStdio { .. } | Target::StdioCommand { .. } => {
            return Err(StartError(
                "a stdio target has no URL: it is opened through the stdio bridge".into(),
            ));
        }
    };
    let what = match target {
        Target::Reference { .. } => "the reference agents",
        _ => "the target",
    };
    match TargetProcess::start(&command, None, start).await {
        Ok(process) => Ok(PooledServer {
            base: format!("http://127.0.0.1:{}", process.port()),
            process: Some(process),
            path,
            store,
            input_timeout: matches!(target, Target::Reference { .. }).then_some(input_timeout),
        }),
        Err(e) => Err(StartError(format!("{what} did not start: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server command that serves nothing but listens: `python3 -m
    /// http.server` is on every machine the suite runs on.
    fn listener() -> Target {
        Target::Command {
            command: "python3 -m http.server --bind 127.0.0.1 {port}".into(),
            path: "/mcp".into(),
        }
    }

    #[tokio::test]
    async fn a_server_given_back_is_given_out_again_and_a_dead_one_is_replaced() {
        let pool = ServerPool::new(&listener(), Duration::from_secs(20), true);
        let first = pool.take(InputTimeout::Patient).await.unwrap();
        let port = first.base.clone();
        pool.give_back(first, true).await;
        let mut again = pool.take(InputTimeout::Patient).await.unwrap();
        assert_eq!(again.base, port, "the idle server is reused");
        assert_eq!(pool.started(), 1);
        // It dies while a case holds it: the next case gets a new one.
        again.process.as_mut().unwrap().kill().await;
        pool.give_back(again, true).await;
        let fresh = pool.take(InputTimeout::Patient).await.unwrap();
        assert_eq!(pool.started(), 2);
        // A case that ended at a time limit does not give its server back.
        pool.give_back(fresh, false).await;
        let _ = pool.take(InputTimeout::Patient).await.unwrap();
        assert_eq!(pool.started(), 3);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_reference_server_serves_only_cases_of_its_input_timeout() {
        let pool = ServerPool::new(&listener(), Duration::from_secs(20), true);
        let short = PooledServer {
            process: None,
            base: "http://127.0.0.1:1".into(),
            path: "/mcp".into(),
            store: None,
            input_timeout: Some(InputTimeout::Short),
        };
        pool.give_back(short, true).await;
        let patient = pool.take(InputTimeout::Patient).await.unwrap();
        assert_ne!(
            patient.base, "http://127.0.0.1:1",
            "a short one is not given"
        );
        assert_eq!(pool.started(), 1);
        let again = pool.take(InputTimeout::Short).await.unwrap();
        assert_eq!(again.base, "http://127.0.0.1:1", "the idle short one is");
        // A server of another target (no input timeout of ours) serves any case.
        pool.give_back(patient, true).await;
        let any = pool.take(InputTimeout::Short).await.unwrap();
        assert_eq!(pool.started(), 1);
        pool.give_back(any, false).await;
        pool.close().await;
    }

    #[tokio::test]
    async fn without_reuse_every_case_starts_its_own() {
        let pool = ServerPool::single(&listener(), Duration::from_secs(20));
        let first = pool.take(InputTimeout::Patient).await.unwrap();
        pool.give_back(first, true).await;
        let second = pool.take(InputTimeout::Patient).await.unwrap();
        assert_eq!(pool.started(), 2);
        pool.give_back(second, true).await;
    }
}
