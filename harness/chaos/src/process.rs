//! [`TargetProcess`]: a server the harness starts from a command line, waits
//! for, kills with SIGKILL and restarts with the same command and port.
//!
//! The command runs through `sh -c` with `{port}` replaced, in its own process
//! group; killing it kills the group. The child also gets SIGKILL if the harness
//! dies (PR_SET_PDEATHSIG), and dropping a `TargetProcess` kills and reaps it,
//! so no server outlives the test that started it, even one that panics.

use std::collections::VecDeque;
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How many free ports a start tries when another process takes the one picked.
const PORT_ATTEMPTS: u32 = 4;

/// Bytes of stderr kept per process (the most recent).
const STDERR_KEEP: usize = 64 * 1024;

/// Why a target could not be started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The command could not be spawned at all.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It exited before it answered.
    #[error(
        "`{command}` exited ({status}) before it answered on port {port}; its stderr ends with:\n{stderr}"
    )]
    ExitedEarly {
        /// The command line.
        command: String,
        /// How it ended.
        status: String,
        /// The port it should have served.
        port: u16,
        /// The end of its stderr.
        stderr: String,
    },
    /// It did not answer in time.
    #[error(
        "`{command}` did not answer on port {port} within {waited:?} (hint: raise --start-timeout, or check that it listens on 127.0.0.1:{{port}}); its stderr ends with:\n{stderr}"
    )]
    NotReady {
        /// The command line.
        command: String,
        /// The port.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The end of its stderr.
        stderr: String,
    },
    /// No free port could be found.
    #[error("no free port on 127.0.0.1: {0}")]
    NoPort(std::io::Error),
}

/// A free TCP port on 127.0.0.1 (free when asked; another process could take it).
pub fn free_port() -> Result<u16, ProcessError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(ProcessError::NoPort)?;
    Ok(listener.local_addr().map_err(ProcessError::NoPort)?.port())
}

/// Inodes of the sockets listening on TCP `port` (IPv4 and IPv6), from
/// /proc/net; `None` where /proc cannot tell.
fn listening_inodes(port: u16) -> Option<Vec<u64>> {
    let mut inodes = Vec::new();
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let listening = *state == "0A";
            let on_port = local
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok())
                == Some(port);
            if listening
                && on_port
                && let Ok(inode) = inode.parse()
            {
                inodes.push(inode);
            }
        }
    }
    readable.then_some(inodes)
}

/// Whether a process of process group `group` holds a socket listening on
/// `port`: `Some(false)` when another process does, `None` when /proc cannot
/// tell (the caller then trusts the connection).
fn listener_owned_by_group(port: u16, group: u32) -> Option<bool> {
    let inodes = listening_inodes(port)?;
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: the comm may hold spaces, so split after it.
        let pgrp = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<u32>().ok());
        if pgrp != Some(group) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path())
                && wanted.iter().any(|w| link.as_os_str() == w.as_str())
            {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// Whether a target's stderr says its port was taken (EADDRINUSE, in the
/// words of the common runtimes: C, Python, Node, Go, Rust, Java).
fn says_address_in_use(stderr: &str) -> bool {
    let text = stderr.to_lowercase();
    [
        "address already in use",
        "eaddrinuse",
        "errno 98",
        "address in use",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// `sh -c "exec COMMAND"` in a process group of its own, killed when dropped
/// and when the harness dies (PR_SET_PDEATHSIG): a command nothing outlives.
pub(crate) fn owned_shell_command(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!("exec {command}"))
        .kill_on_drop(true)
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; it only sets this child's death signal.
    unsafe {
        shell.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    shell
}

/// SIGKILL process group `pid` and reap `child`, without an async context
/// (for `Drop`): the group is killed, so this is quick (1 s at most).
pub(crate) fn kill_and_reap_blocking(mut child: Child, pid: u32) {
    // SAFETY: signalling our own child's process group.
    unsafe {
        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
    }
    let _ = child.start_kill();
    for _ in 0..200 {
        if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A running (or killed) target server.
pub struct TargetProcess {
    template: String,
    command: String,
    port: u16,
    child: Option<Child>,
    pid: Option<u32>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    starts: u32,
}

impl TargetProcess {
    /// Run `template` (with `{port}` replaced by `port`, or a free port when
    /// `None`) and wait until 127.0.0.1:port accepts connections, for at most
    /// `ready_within`.
    pub async fn start(
        template: &str,
        port: Option<u16>,
        ready_within: Duration,
    ) -> Result<Self, ProcessError> {
        let chosen = port;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = match chosen {
                Some(port) => port,
                None => free_port()?,
            };
            let mut target = Self {
                template: template.to_owned(),
                command: template.replace("{port}", &port.to_string()),
                port,
                child: None,
                pid: None,
                stderr: Arc::new(Mutex::new(VecDeque::new())),
                starts: 0,
            };
            match target.spawn_and_wait(ready_within).await {
                Ok(()) => return Ok(target),
                // A port we picked was free when asked, but another socket
                // took it before the target could bind: pick another. Seen as
                // a listener on it now, or (the socket may be gone by then) as
                // the target saying so on stderr.
                Err(
                    ProcessError::ExitedEarly { ref stderr, .. }
                    | ProcessError::NotReady { ref stderr, .. },
                ) if chosen.is_none()
                    && attempt < PORT_ATTEMPTS
                    && (says_address_in_use(stderr)
                        || listening_inodes(port).is_some_and(|l| !l.is_empty())) =>
                {
                    tracing::debug!(port, "port taken by another process; trying another");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The port the target serves.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `Some(how)` once the process is not running (it exited, or was
    /// killed), reaping it and killing what is left of its process group;
    /// `None` while it runs.
    pub fn exited(&mut self) -> Option<String> {
        let Some(child) = self.child.as_mut() else {
            return Some("not running".into());
        };
        match child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => {
                // Its group may outlive it (workers it forked keep the port):
                // they go with it.
                if let Some(pid) = self.pid.take() {
                    // SAFETY: signalling our own child's process group.
                    unsafe {
                        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
                    }
                }
                self.child = None;
                Some(status.to_string())
            }
            Err(e) => Some(e.to_string()),
        }
    }

    /// The command template as given.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The process id of the current run, if running.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// How many times the command was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// The most recent stderr output, lossily decoded.
    pub fn stderr_tail(&self) -> String {
        let stderr = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = stderr.iter().copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    async fn spawn_and_wait(&mut self, ready_within: Duration) -> Result<(), ProcessError> {
        let mut command = owned_shell_command(&self.command);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
            command: self.command.clone(),
            source,
        })?;
        self.starts += 1;
        self.pid = child.id();
        if let Some(stderr) = child.stderr.take() {
            let keep = self.stderr.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut keep = keep.lock().unwrap_or_else(|e| e.into_inner());
                    keep.extend(line.bytes().chain(std::iter::once(b'\n')));
                    while keep.len() > STDERR_KEEP {
                        keep.pop_front();
                    }
                }
            });
        }
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + ready_within;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                self.pid = None;
                tokio::time::sleep(Duration::from_millis(50)).await; // let stderr drain
                return Err(ProcessError::ExitedEarly {
                    command: self.command.clone(),
                    status: status.to_string(),
                    port: self.port,
                    stderr: self.stderr_tail(),
                });
            }
            // Ready once the port accepts and the listener is ours: another
            // process that took the port first (a free port is only free when
            // asked) must not pass for the target.
            if tokio::net::TcpStream::connect(addr).await.is_ok()
                && self
                    .pid
                    .is_none_or(|pid| listener_owned_by_group(self.port, pid) != Some(false))
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill().await;
                return Err(ProcessError::NotReady {
                    command: self.command.clone(),
                    port: self.port,
                    waited: ready_within,
                    stderr: self.stderr_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL the process group and reap the process. Returns whether it was running.
    pub async fn kill(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        if let Some(pid) = self.pid.take() {
            // SAFETY: signalling our own child's process group.
            unsafe {
                libc::killpg(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        let _ = child.kill().await;
        let _ = child.wait().await;
        true
    }

    /// Kill (if running) and start the same command on the same port again.
    pub async fn restart(&mut self, ready_within: Duration) -> Result<(), ProcessError> {
        self.kill().await;
        self.spawn_and_wait(ready_within).await
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        if let (Some(child), Some(pid)) = (self.child.take(), self.pid.take()) {
            kill_and_reap_blocking(child, pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::says_address_in_use;

    #[test]
    fn address_in_use_in_the_words_of_common_runtimes() {
        for said in [
            "OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', 4000): address already in use",
            "Error: listen EADDRINUSE: address already in use 127.0.0.1:4000",
            "bind: Address already in use",
            "java.net.BindException: Address in use",
        ] {
            assert!(says_address_in_use(said), "{said}");
        }
        assert!(!says_address_in_use(
            "ModuleNotFoundError: No module named 'mcp'"
        ));
    }
}
