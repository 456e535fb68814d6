//! [`StdioServer`]: an MCP server the harness starts as a command and speaks
//! to over its standard streams. Every line both ways is recorded as it is
//! written (with the [`Router`] deciding, under the same lock, which client
//! request a server line belongs to, so a transcript read back routes the
//! same way), every stderr line too, and what happens to the process: its
//! start, stdin closed, SIGTERM, SIGKILL, its exit.
//!
//! The command runs through `sh -c exec` in its own process group with
//! PR_SET_PDEATHSIG, like [`crate::TargetProcess`]: no server outlives the
//! harness. A line longer than [`MAX_LINE_BYTES`] is recorded by its size
//! and not delivered, so a hostile server cannot grow memory without bound.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_harness_wire::stdio_route::{Route, Router};
use mcp_harness_wire::{Body, Delivery, ProcessEvent, Side, WireEvent};
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

use crate::process::{ProcessError, kill_and_reap_blocking, owned_shell_command};
use crate::recorder::Recorder;

/// The longest line kept and delivered, bytes.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// What the server sent, for the client side.
#[derive(Debug, Clone, PartialEq)]
pub enum FromServer {
    /// A JSON line, and the client request it belongs to.
    Message(Value, Route),
    /// A line that is not JSON (lossy UTF-8), for a tap to pass on as it is.
    NotJson(String),
    /// The server process closed its stdout (it exited, crashed or was killed).
    Closed {
        /// Which process.
        process: u64,
    },
}

/// Why a line could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The server is not running (killed, exited, or its stdin was closed).
    #[error("the stdio server is not running (its stdin is closed)")]
    NotRunning,
    /// Writing to its stdin failed.
    #[error("writing to the server's stdin failed: {0}")]
    Write(#[from] std::io::Error),
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownStep {
    /// It exited once its stdin closed.
    StdinClosed,
    /// It needed SIGTERM.
    Sigterm,
    /// It needed SIGKILL.
    Sigkill,
    /// It was not running.
    NotRunning,
}

/// Faults on the pipes: each direction can be delayed (every line) or
/// stalled (the next line only); a client line can be written in two parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipeFaults {
    /// Hold each client line this long before it is written.
    pub delay_to_server: Duration,
    /// Hold each server line this long before it is delivered.
    pub delay_to_client: Duration,
    /// Hold the next client line this long (once).
    pub stall_to_server: Duration,
    /// Hold the next server line this long (once).
    pub stall_to_client: Duration,
    /// Write each client line in two writes, this long apart.
    pub split_writes: Option<Duration>,
}

impl From<&mcp_harness_wire::PipeFault> for PipeFaults {
    /// The holds a scenario writes (and the transcript records) in ms.
    fn from(holds: &mcp_harness_wire::PipeFault) -> Self {
        let ms = Duration::from_millis;
        Self {
            delay_to_server: ms(holds.delay_to_server_ms),
            delay_to_client: ms(holds.delay_to_client_ms),
            stall_to_server: ms(holds.stall_to_server_ms),
            stall_to_client: ms(holds.stall_to_client_ms),
            split_writes: (holds.split_writes_ms > 0).then(|| ms(holds.split_writes_ms)),
        }
    }
}

impl PipeFaults {
    /// How long to hold the next line to the server; a stall is used up.
    fn hold_to_server(&mut self) -> Duration {
        self.delay_to_server + std::mem::take(&mut self.stall_to_server)
    }

    /// How long to hold the next line to the client; a stall is used up.
    fn hold_to_client(&mut self) -> Duration {
        self.delay_to_client + std::mem::take(&mut self.stall_to_client)
    }
}

struct Running {
    process: u64,
    child: Option<Child>,
    pid: Option<u32>,
    stdin: Option<ChildStdin>,
    /// When the harness closed its stdin (mid-call, or at shutdown).
    stdin_closed_at: Option<Instant>,
    /// The reader of its stdout, which ends at the pipe's end.
    stdout_reader: Option<tokio::task::JoinHandle<()>>,
}

/// A stdio MCP server, started and recorded.
pub struct StdioServer {
    command: String,
    recorder: Arc<Recorder>,
    router: Arc<Mutex<Router>>,
    to_client: mpsc::UnboundedSender<FromServer>,
    faults: Arc<Mutex<PipeFaults>>,
    running: tokio::sync::Mutex<Running>,
    /// The number of the latest process started.
    current: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StdioServer {
    /// Start `command` (through `sh -c`), recording into `recorder`; the
    /// receiver gets what the server writes, routed.
    pub async fn start(
        command: &str,
        recorder: Arc<Recorder>,
    ) -> Result<(Arc<Self>, mpsc::UnboundedReceiver<FromServer>), ProcessError> {
        let (to_client, from_server) = mpsc::unbounded_channel();
        let server = Arc::new(Self {
            command: command.to_owned(),
            recorder,
            router: Arc::new(Mutex::new(Router::new())),
            to_client,
            faults: Arc::new(Mutex::new(PipeFaults::default())),
            running: tokio::sync::Mutex::new(Running {
                process: 0,
                child: None,
                pid: None,
                stdin: None,
                stdin_closed_at: None,
                stdout_reader: None,
            }),
            current: std::sync::atomic::AtomicU64::new(0),
        });
        {
            let mut running = server.running.lock().await;
            server.spawn(&mut running)?;
        }
        Ok((server, from_server))
    }

    /// The number of the latest process started (from 1; a restart starts
    /// the next).
    pub fn process(&self) -> u64 {
        self.current.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The command line.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Change the pipe faults from now on.
    pub fn set_faults(&self, faults: PipeFaults) {
        *lock(&self.faults) = faults;
    }

    fn spawn(&self, running: &mut Running) -> Result<(), ProcessError> {
        let mut command = owned_shell_command(&self.command);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
            command: self.command.clone(),
            source,
        })?;
        running.process += 1;
        let process = running.process;
        self.current
            .store(process, std::sync::atomic::Ordering::Relaxed);
        running.pid = child.id();
        running.stdin = child.stdin.take();
        running.stdin_closed_at = None;
        self.recorder.record(WireEvent::Process {
            process,
            event: ProcessEvent::Started,
            detail: Some(self.command.clone()),
        });
        if let Some(stdout) = child.stdout.take() {
            running.stdout_reader = Some(tokio::spawn(read_stdout(
                process,
                BufReader::new(stdout),
                self.recorder.clone(),
                self.router.clone(),
                self.faults.clone(),
                self.to_client.clone(),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            let recorder = self.recorder.clone();
            tokio::spawn(async move {
                let mut stderr = BufReader::new(stderr);
                while let Ok(Some((line, _))) = read_line(&mut stderr, 64 * 1024).await {
                    recorder.record(WireEvent::Stderr {
                        process,
                        text: String::from_utf8_lossy(&line).into_owned(),
                    });
                }
            });
        }
        running.child = Some(child);
        Ok(())
    }

    /// Write `text` and a newline to the server's stdin, recording the line.
    pub async fn send(&self, text: &str) -> Result<(), StdioError> {
        let (hold, faults) = {
            let mut faults = lock(&self.faults);
            (faults.hold_to_server(), *faults)
        };
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        let mut running = self.running.lock().await;
        let process = running.process;
        let Some(stdin) = running.stdin.as_mut() else {
            return Err(StdioError::NotRunning);
        };
        {
            let mut router = lock(&self.router);
            if let Ok(message) = serde_json::from_str::<Value>(text) {
                router.client_wrote(&message);
            }
            self.recorder.record(WireEvent::Line {
                process,
                from: Side::Client,
                body: Body::from_bytes(text.as_bytes(), MAX_LINE_BYTES),
                invalid_utf8: false,
                delivery: Delivery::Delivered,
            });
        }
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        match faults.split_writes {
            Some(pause) if bytes.len() > 1 => {
                let (first, second) = bytes.split_at(bytes.len() / 2);
                stdin.write_all(first).await?;
                stdin.flush().await?;
                tokio::time::sleep(pause).await;
                stdin.write_all(second).await?;
            }
            _ => stdin.write_all(&bytes).await?,
        }
        stdin.flush().await?;
        Ok(())
    }

    /// Close the server's stdin (recorded), as a client does to end the session.
    pub async fn close_stdin(&self) {
        let mut running = self.running.lock().await;
        let stdin = running.stdin.take();
        if stdin.is_some() {
            // Recorded before it closes: what the server does about it comes after.
            self.recorder.record(WireEvent::Process {
                process: running.process,
                event: ProcessEvent::StdinClosed,
                detail: None,
            });
            running.stdin_closed_at = Some(Instant::now());
        }
        drop(stdin);
    }

    /// SIGKILL the process group and reap it (recorded); whether it was running.
    pub async fn kill(&self) -> bool {
        let mut running = self.running.lock().await;
        self.kill_running(&mut running, None).await
    }

    async fn kill_running(&self, running: &mut Running, since: Option<Instant>) -> bool {
        let Some(mut child) = running.child.take() else {
            return false;
        };
        running.stdin = None;
        if let Some(pid) = running.pid.take() {
            self.recorder.record(WireEvent::Process {
                process: running.process,
                event: ProcessEvent::Sigkill,
                detail: None,
            });
            // SAFETY: signalling our own child's process group.
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        let _ = child.kill().await;
        let status = child.wait().await.ok();
        self.record_exit(running, status, since).await;
        true
    }

    /// Record the exit of `running`'s process, once its stdout reader has
    /// recorded everything the process wrote (so the exit comes after its
    /// last line in the transcript, every time).
    async fn record_exit(
        &self,
        running: &mut Running,
        status: Option<std::process::ExitStatus>,
        since: Option<Instant>,
    ) {
        use std::os::unix::process::ExitStatusExt;
        let process = running.process;
        if let Some(reader) = running.stdout_reader.take() {
            // A grandchild may hold the pipe open: wait a bounded time.
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
        }
        let how = match status {
            Some(s) => match (s.code(), s.signal()) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(signal)) => format!("signal {signal}"),
                _ => s.to_string(),
            },
            None => "unknown".to_owned(),
        };
        let detail = match since {
            Some(at) => format!(
                "{how}, {} ms after its stdin closed",
                at.elapsed().as_millis()
            ),
            None => how,
        };
        self.recorder.record(WireEvent::Process {
            process,
            event: ProcessEvent::Exited,
            detail: Some(detail),
        });
    }

    /// Kill the server (if running) and start the command again: the next
    /// process, with nothing of the old one's session.
    pub async fn restart(&self) -> Result<(), ProcessError> {
        let mut running = self.running.lock().await;
        self.kill_running(&mut running, None).await;
        lock(&self.router).clear();
        self.spawn(&mut running)
    }

    /// End the server as the spec's stdio shutdown says: close its stdin,
    /// wait up to `grace` for it to exit, then SIGTERM and wait `grace`
    /// again, then SIGKILL. Each step is recorded; the answer is the last
    /// one that was needed.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownStep {
        let mut running = self.running.lock().await;
        let process = running.process;
        let Some(mut child) = running.child.take() else {
            return ShutdownStep::NotRunning;
        };
        let pid = running.pid.take();
        // Closed mid-call already (close_stdin), the wait counts from then.
        let closed_at = *running.stdin_closed_at.get_or_insert_with(Instant::now);
        let stdin = running.stdin.take();
        if stdin.is_some() {
            self.recorder.record(WireEvent::Process {
                process,
                event: ProcessEvent::StdinClosed,
                detail: None,
            });
        }
        drop(stdin);
        if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
            self.record_exit(&mut running, status.ok(), Some(closed_at))
                .await;
            return ShutdownStep::StdinClosed;
        }
        if let Some(pid) = pid {
            self.recorder.record(WireEvent::Process {
                process,
                event: ProcessEvent::Sigterm,
                detail: Some(format!(
                    "still running {} ms after its stdin closed",
                    closed_at.elapsed().as_millis()
                )),
            });
            // SAFETY: signalling our own child's process group.
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
            self.record_exit(&mut running, status.ok(), Some(closed_at))
                .await;
            return ShutdownStep::Sigterm;
        }
        running.child = Some(child);
        running.pid = pid;
        self.kill_running(&mut running, Some(closed_at)).await;
        ShutdownStep::Sigkill
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let running = self.running.get_mut();
        if let (Some(child), Some(pid)) = (running.child.take(), running.pid.take()) {
            kill_and_reap_blocking(child, pid);
        }
    }
}

/// Read one line (without its newline) of at most `limit` bytes kept; the
/// line's whole length comes second. `None` at the end of the stream; a last
/// line without a newline is still a line.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let mut line = Vec::new();
    let mut total = 0usize;
    let mut any = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(any.then_some((line, total)));
        }
        any = true;
        let newline = buf.iter().position(|b| *b == b'\n');
        let chunk = &buf[..newline.unwrap_or(buf.len())];
        total += chunk.len();
        let room = limit.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = newline.map_or(buf.len(), |at| at + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(Some((line, total)));
        }
    }
}

async fn read_stdout<R: AsyncBufRead + Unpin>(
    process: u64,
    mut stdout: R,
    recorder: Arc<Recorder>,
    router: Arc<Mutex<Router>>,
    faults: Arc<Mutex<PipeFaults>>,
    to_client: mpsc::UnboundedSender<FromServer>,
) {
    while let Ok(Some((mut line, total))) = read_line(&mut stdout, MAX_LINE_BYTES).await {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let body = if total > MAX_LINE_BYTES {
            Body::Truncated {
                bytes: total as u64,
            }
        } else {
            Body::from_bytes(&line, MAX_LINE_BYTES)
        };
        let invalid_utf8 = std::str::from_utf8(&line).is_err();
        let message = body.json();
        let route = {
            let mut router = lock(&router);
            let route = message.as_ref().map(|m| router.server_wrote(m));
            recorder.record(WireEvent::Line {
                process,
                from: Side::Server,
                body,
                invalid_utf8,
                delivery: Delivery::Delivered,
            });
            route
        };
        let hold = lock(&faults).hold_to_client();
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        let delivered = match (message, route) {
            (Some(message), Some(route)) => FromServer::Message(message, route),
            _ if total <= MAX_LINE_BYTES => {
                FromServer::NotJson(String::from_utf8_lossy(&line).into_owned())
            }
            _ => continue,
        };
        if to_client.send(delivered).is_err() {
            break;
        }
    }
    recorder.record(WireEvent::Process {
        process,
        event: ProcessEvent::StdoutClosed,
        detail: None,
    });
    let _ = to_client.send(FromServer::Closed { process });
}
