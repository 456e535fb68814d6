//! `mcp-harness stdio-tap --record FILE -- COMMAND...`: a stdio server that
//! is another one, recorded. It starts COMMAND, passes every line of its own
//! stdin to COMMAND's stdin and every line COMMAND writes back to its own
//! stdout, and records both directions, COMMAND's stderr and its process
//! events into FILE as a transcript. `client-test --transport stdio` gives a
//! client such a command, so a client that starts its server itself is
//! recorded as it talks to the scripted server. When the client closes the
//! tap's stdin, the tap ends COMMAND as the spec's shutdown says.

use std::path::Path;
use std::time::Duration;

use mcp_harness_chaos::{FromServer, Recorder, StdioServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How long COMMAND may take to exit once its stdin closes (then SIGTERM,
/// the same again, then SIGKILL).
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Run the tap until the client closes its stdin (or COMMAND ends).
pub async fn stdio_tap(record: &Path, command: &str) -> anyhow::Result<()> {
    // Out of the client's process group: a client killed at the end of its
    // case leaves the tap to end its server and finish the recording (it
    // does so once its stdin, the client's pipe, closes).
    // SAFETY: setpgid on this process only.
    unsafe {
        libc::setpgid(0, 0);
    }
    let recorder = Recorder::new(command);
    recorder.write_to(record)?;
    let (server, mut from_server) = StdioServer::start(command, recorder.clone()).await?;
    let to_client = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = from_server.recv().await {
            let text = match line {
                FromServer::Message(message, _) => message.to_string(),
                FromServer::NotJson(text) => text,
                FromServer::Closed { .. } => break,
            };
            let written = async {
                stdout.write_all(text.as_bytes()).await?;
                stdout.write_all(b"\n").await?;
                stdout.flush().await
            };
            if written.await.is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut server_gone = false;
    while let Ok(Some(line)) = lines.next_line().await {
        if server.send(&line).await.is_err() {
            server_gone = true;
            break;
        }
    }
    if !server_gone {
        server.shutdown(EXIT_GRACE).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), to_client).await;
    recorder.flush();
    Ok(())
}
