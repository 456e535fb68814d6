//! A reference-agents server process for the runner's tests: started from the
//! built binary on an SQLite file, killed with SIGKILL on demand and on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server process that is SIGKILLed when dropped, even if the test panics.
pub struct ServerProcess {
    child: Child,
    pub url: String,
}

impl ServerProcess {
    /// Serve on `store` with every sleep multiplied by `time_scale`.
    pub fn start(store: &std::path::Path, time_scale: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--time-scale",
                time_scale,
                "--input-timeout",
                "60s",
                "--store",
            ])
            .arg(store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mcp-harness starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("reference agents on ").nth(1) {
                    let _ = tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server announces its URL");
        Self { child, url }
    }

    /// SIGKILL, and wait for it.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL delivered");
        let status = self.child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
