//! The steps on a session and its streams: `delete_session`,
//! `open_get_stream`, `listen` and `await_notifications`, and `wait`.

use std::time::Duration;

use serde_json::Value;

use crate::run::StepResult;
use crate::run::script::{MAIN_SESSION, Script, step_result};

impl Script<'_> {
    /// Play a `delete_session` step: DELETE the main session.
    pub(in crate::run) async fn delete_session(&mut self, n: usize) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        match self.main().delete_session().await {
            Ok(status) => done(
                (200..300).contains(&status) || status == 405,
                format!("DELETE answered {status}"),
            ),
            Err(e) => done(false, e.to_string()),
        }
    }

    /// Play an `open_get_stream` step on `session` (the main one when `None`);
    /// a `name` keeps the stream for a later `resume` step.
    pub(in crate::run) async fn open_get_stream(
        &mut self,
        n: usize,
        session: Option<&str>,
        name: Option<&str>,
    ) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let session = session.unwrap_or(MAIN_SESSION);
        let opened = match self.session(session).await {
            Err(e) => return done(false, e.to_string()),
            Ok(client) => client.open_get_stream().await,
        };
        match opened {
            Ok((status, stream)) => {
                if let Some(name) = name {
                    self.get_streams
                        .insert(name.to_owned(), (session.to_owned(), stream));
                }
                done(
                    status == 200 || status == 405,
                    format!("GET stream answered {status} (expected 200, or 405 if not offered)"),
                )
            }
            Err(e) => done(false, format!("GET stream: {e}")),
        }
    }

    /// Play a `listen` step: open a subscriptions/listen stream.
    pub(in crate::run) async fn listen(&mut self, n: usize, notifications: &Value) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        match self.main().listen(notifications).await {
            Ok((status, acknowledged)) => done(
                status == 200 && acknowledged,
                format!(
                    "subscriptions/listen answered {status}, {} (expected 200 and an acknowledgement)",
                    if acknowledged {
                        "acknowledged"
                    } else {
                        "no acknowledgement within 2 s"
                    }
                ),
            ),
            Err(e) => done(false, format!("subscriptions/listen: {e}")),
        }
    }

    /// Play an `await_notifications` step: `count` notifications on the listen streams within `within_ms`.
    pub(in crate::run) async fn await_notifications(
        &mut self,
        n: usize,
        count: u64,
        within_ms: u64,
    ) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let arrived = self
            .main()
            .await_notifications(count, Duration::from_millis(within_ms))
            .await;
        done(
            arrived,
            format!(
                "{} notification(s) on the listen streams {} within {within_ms} ms",
                count,
                if arrived { "arrived" } else { "did not arrive" }
            ),
        )
    }

    /// Play a `wait` step.
    pub(in crate::run) async fn wait(&mut self, n: usize, ms: u64) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        done(true, format!("waited {ms} ms"))
    }
}
