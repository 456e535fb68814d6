//! [`TargetProcess`]: a server the harness starts from a command line, waits
//! for, kills with SIGKILL and restarts with the same command and port.
//!
//! The command runs through `sh -c` with `{port}` replaced, in its own process
//! group; killing it kills the group. The child also gets SIGKILL if the harness
//! dies (PR_SET_PDEATHSIG), and dropping a `TargetProcess` kills and reaps it,
//! so no server outlives the test that started it, even one that panics.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
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

/// The listening sockets of one /proc/net/tcp (or tcp6, `ipv6`) table:
/// each local address and inode. Pure: the table's text in, so it is tested
/// on text.
pub fn parse_listeners(table: &str, ipv6: bool) -> Vec<(SocketAddr, u64)> {
    let mut listeners = Vec::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
        else {
            continue;
        };
        if *state != "0A" {
            continue;
        }
        let Some((ip, port)) = local.split_once(':') else {
            continue;
        };
        let (Ok(port), Ok(inode)) = (u16::from_str_radix(port, 16), inode.parse::<u64>()) else {
            continue;
        };
        // The kernel prints each 32-bit word of the address as a number in
        // host byte order (little-endian here): 0100007F is 127.0.0.1.
        let words: Vec<u32> = (0..ip.len() / 8)
            .filter_map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
            .collect();
        let address: IpAddr = match (ipv6, words.as_slice()) {
            (false, [word]) => Ipv4Addr::from(word.to_le_bytes()).into(),
            (true, [a, b, c, d]) => {
                let mut bytes = [0u8; 16];
                for (chunk, word) in bytes.chunks_mut(4).zip([a, b, c, d]) {
                    chunk.copy_from_slice(&word.to_le_bytes());
                }
                Ipv6Addr::from(bytes).into()
            }
            _ => continue,
        };
        listeners.push((SocketAddr::new(address, port), inode));
    }
    listeners
}

/// The sockets listening on TCP `port` (IPv4 and IPv6), with their inodes,
/// from /proc/net; `None` where /proc cannot tell.
fn listening_sockets(port: u16) -> Option<Vec<(SocketAddr, u64)>> {
    let mut sockets = Vec::new();
    let mut readable = false;
    for (table, ipv6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        sockets.extend(
            parse_listeners(&text, ipv6)
                .into_iter()
                .filter(|(address, _)| address.port() == port),
        );
    }
    readable.then_some(sockets)
}

/// The inodes of every socket the processes of process group `group` hold
/// open; `None` where /proc cannot tell.
fn group_socket_inodes(group: u32) -> Option<HashSet<u64>> {
    let mut inodes = HashSet::new();
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
            let inode = std::fs::read_link(fd.path()).ok().and_then(|link| {
                link.to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse::<u64>()
                    .ok()
            });
            inodes.extend(inode);
        }
    }
    Some(inodes)
}

/// Whether a process of process group `group` holds a socket listening on
/// `port`: `Some(false)` when another process does, `None` when /proc cannot
/// tell (the caller then trusts the connection).
fn listener_owned_by_group(port: u16, group: u32) -> Option<bool> {
    let sockets = listening_sockets(port)?;
    if sockets.is_empty() {
        return None;
    }
    let owned = group_socket_inodes(group)?;
    Some(sockets.iter().any(|(_, inode)| owned.contains(inode)))
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
                        || listening_sockets(port).is_some_and(|l| !l.is_empty())) =>
                {
                    tracing::debug!(port, "port taken by another process; trying another");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The addresses its listening sockets on its port are bound to
    /// (`0.0.0.0:PORT` is every interface), from /proc; `None` where /proc
    /// cannot tell or the process is gone.
    pub fn listen_addresses(&self) -> Option<Vec<SocketAddr>> {
        let group = self.pid?;
        let owned = group_socket_inodes(group)?;
        let mut addresses: Vec<SocketAddr> = listening_sockets(self.port)?
            .into_iter()
            .filter(|(_, inode)| owned.contains(inode))
            .map(|(address, _)| address)
            .collect();
        addresses.sort();
        addresses.dedup();
        Some(addresses)
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
    use super::*;

    #[test]
    fn listeners_read_from_proc_text_with_their_addresses() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0
";
        let found = parse_listeners(tcp, false);
        assert_eq!(
            found,
            vec![
                ("127.0.0.1:8080".parse().unwrap(), 111),
                ("0.0.0.0:8081".parse().unwrap(), 222),
            ]
        );
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:1F93 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0 0 10 0
";
        let found = parse_listeners(tcp6, true);
        assert_eq!(
            found,
            vec![
                ("[::]:8082".parse().unwrap(), 444),
                ("[::1]:8083".parse().unwrap(), 555),
            ]
        );
    }

    #[test]
    fn a_started_server_s_listening_address_is_read_from_proc() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let command = "python3 -c \"import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(30)\"";
            let mut process = TargetProcess::start(command, None, Duration::from_secs(10))
                .await
                .unwrap();
            let port = process.port();
            assert_eq!(
                process.listen_addresses(),
                Some(vec![SocketAddr::from(([127, 0, 0, 1], port))])
            );
            process.kill().await;
        });
    }

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
