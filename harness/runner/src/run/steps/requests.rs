//! The steps that send one request as written: `raw` (an HTTP request, for
//! the server's refusals), `request` (one JSON-RPC request) and `discover`
//! (what the server declares, listed and read).

use serde_json::Value;

use crate::run::StepResult;
use crate::run::script::{Script, step_result};
use crate::scenario::{AnswerExpect, DiscoverWhat, RawStep};

impl Script<'_> {
    /// Play a `raw` step: the HTTP request as written, judged by its status.
    pub(in crate::run) async fn raw(&mut self, n: usize, step: &RawStep) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let RawStep {
            method,
            headers,
            session,
            body,
            text_body,
            expect_status,
            expect_status_in,
            cites: _,
        } = step;
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut wanted: Vec<u16> = expect_status_in.clone();
        wanted.extend(expect_status.iter().copied());
        if wanted.is_empty() {
            return done(
                false,
                "a raw step needs expect_status or expect_status_in".into(),
            );
        }
        let payload = match (body, text_body) {
            (Some(json), _) => Some(json.to_string()),
            (None, Some(text)) => Some(text.clone()),
            (None, None) => None,
        };
        match self
            .main()
            .raw(method, &headers, session, payload.as_deref())
            .await
        {
            Ok(status) => done(
                wanted.contains(&status),
                format!("{method} answered {status} (expected {wanted:?})"),
            ),
            Err(e) => done(false, format!("{method}: {e}")),
        }
    }

    /// Play a `request` step: one JSON-RPC request on the main session.
    pub(in crate::run) async fn request(
        &mut self,
        n: usize,
        method: &str,
        params: Option<&Value>,
        expect: AnswerExpect,
    ) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        match self.main().send_request(method, params).await {
            Ok(answer) => {
                let (ok, got) = match (answer.get("error"), expect) {
                    (Some(error), AnswerExpect::Error | AnswerExpect::Any) => {
                        (true, format!("error {}", error["code"]))
                    }
                    (Some(error), AnswerExpect::Result) => {
                        (false, format!("error {}", short_json(error)))
                    }
                    (None, AnswerExpect::Error) => (
                        false,
                        format!("a result: {}", short_json(&answer["result"])),
                    ),
                    (None, _) => (true, "a result".to_owned()),
                };
                done(
                    ok,
                    format!("{method} answered with {got} (expected {expect:?})"),
                )
            }
            Err(e) => done(false, format!("{method}: {e}")),
        }
    }

    /// Play a `discover` step: list (and read or get) what the server declares.
    pub(in crate::run) async fn discover(
        &mut self,
        n: usize,
        what: DiscoverWhat,
        first: usize,
    ) -> StepResult {
        let done = |ok: bool, detail: String| step_result(n, ok, detail);
        let walked = crate::discovery::walk(self.main(), what, first).await;
        done(walked.answered, walked.line)
    }
}

/// `value` as JSON text, cut to 200 characters.
fn short_json(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}
