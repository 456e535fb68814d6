//! Resumption (the 2025 eras): `GET` with `Last-Event-ID`, a lost call
//! continued by a restarted client, and a single resume probed by a step.

use super::*;

/// How a server answers a resume when it has no stream to resume: 405, no
/// `GET` stream at this endpoint (basic/transports, "Listening for Messages
/// from the Server"); 404, the session ended.
const NO_RESUMPTION: [u16; 2] = [404, 405];

impl ScriptedClient {
    /// GET with `Last-Event-ID`.
    pub async fn resume(&self, last_event_id: &str) -> Result<reqwest::Response, ClientError> {
        let mut request = self
            .http
            .get(&self.url)
            .header("Accept", "text/event-stream")
            .header("Last-Event-ID", last_event_id);
        if !self.breaks(crate::scenario::ClientFault::OmitVersionHeader) {
            request = request.header("MCP-Protocol-Version", &self.version);
        }
        if let Some(session) = &self.session {
            request = request.header("Mcp-Session-Id", session);
        }
        tokio::time::timeout(self.limit, request.send())
            .await
            .map_err(|_| {
                ClientError::Protocol(format!("no answer to the resume within {:?}", self.limit))
            })?
            .map_err(http_error("resume"))
    }

    /// Continue call `id` whose stream this process lost (it crashed, say):
    /// resume from `last_event_id` until the response arrives, a bounded number
    /// of times.
    pub async fn resume_call(
        &mut self,
        id: i64,
        last_event_id: &str,
        hooks: &mut impl CallHooks,
    ) -> Result<CallOutcome, ClientError> {
        let deadline = Instant::now() + self.give_up().unwrap_or(self.limit);
        let mut outcome = CallOutcome::default();
        let mut last = last_event_id.to_owned();
        loop {
            if outcome.recoveries >= self.spec.max_resumes.max(1) || Instant::now() > deadline {
                outcome.gave_up = Some(format!("no response after {} resumes", outcome.recoveries));
                return Ok(outcome);
            }
            outcome.recoveries += 1;
            let read = match self.resume(&last).await {
                Ok(response) if response.status().is_success() => self
                    .read(response, id, hooks, false)
                    .await
                    .unwrap_or(Read::Ended {
                        last_event_id: None,
                    }),
                Ok(response) => {
                    outcome.gave_up = Some(format!(
                        "the resume was answered HTTP {}",
                        response.status()
                    ));
                    return Ok(outcome);
                }
                Err(_) => {
                    // The server may be restarting: give it a moment.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Read::Ended {
                        last_event_id: None,
                    }
                }
            };
            match read {
                Read::Answered(answer) => {
                    match answer.get("error") {
                        Some(error) => outcome.error = Some(error.clone()),
                        None => outcome.result = answer.get("result").cloned(),
                    }
                    return Ok(outcome);
                }
                Read::Ended {
                    last_event_id: Some(newer),
                } => last = newer,
                Read::Ended { .. } => {}
            }
            tokio::time::sleep(self.reconnect_delay()).await;
        }
    }

    /// Resume once from `last_event_id` (a `resume` step): GET with it, read
    /// what comes for at most `wait` or until the response to request `id`,
    /// answering server requests on the way.
    pub async fn resume_once(
        &self,
        last_event_id: &str,
        id: Option<i64>,
        wait: Duration,
    ) -> Result<ResumeProbe, ClientError> {
        let mut probe = self.fork();
        probe.limit = wait;
        let response = probe.resume(last_event_id).await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let _ = tokio::time::timeout(Duration::from_millis(200), response.bytes()).await;
            return Ok(ResumeProbe {
                status,
                response: None,
                last_event_id: None,
            });
        }
        let read = probe
            .read(response, id.unwrap_or(i64::MIN), &mut NoHooks, false)
            .await?;
        Ok(match read {
            Read::Answered(answer) => ResumeProbe {
                status,
                response: Some(answer),
                last_event_id: lock(&probe.last_event_id).clone(),
            },
            Read::Ended { last_event_id } => ResumeProbe {
                status,
                response: None,
                last_event_id,
            },
        })
    }

    /// Legacy: resume a cut stream with `Last-Event-ID` until the response to
    /// `id` arrives (`read` is how the call's stream ended). A resume that
    /// brought new events before its stream ended is progress (a server may
    /// replay what it has stored and close, or close streams on purpose to
    /// have the client poll): only resumes in a row that bring nothing count
    /// toward giving up. A resume answered 405 (no stream to resume at this
    /// endpoint) or 404 (the session is gone, and its streams with it) ends
    /// the call at once, the reason in `outcome.gave_up`: asking again could
    /// only wait.
    pub(super) async fn resume_cut_stream(
        &self,
        mut read: Read,
        id: i64,
        deadline: Instant,
        outcome: &mut CallOutcome,
        hooks: &mut impl CallHooks,
    ) -> Read {
        let mut fruitless = 0u32;
        while let Read::Ended {
            last_event_id: Some(last),
        } = &read
        {
            if fruitless >= self.spec.max_resumes || Instant::now() > deadline {
                break;
            }
            if outcome.recoveries == 0
                && self.breaks(crate::scenario::ClientFault::CancelOnDisconnect)
            {
                let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                    "params": {"requestId": id, "reason": "the stream was cut"}});
                let _ = self.post(&cancel).send().await;
            }
            outcome.recoveries += 1;
            tokio::time::sleep(self.reconnect_delay()).await;
            let mut last = last.clone();
            if self.breaks(crate::scenario::ClientFault::ResumeFromFirstEvent)
                && let Some(first) = self
                    .first_event_id
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
            {
                last = first;
            }
            let resumed = self.resume(&last).await;
            // A resume that fails, or ends before any new event, leaves the
            // client where it was: it tries again from the same event id.
            read = match resumed {
                Ok(response) if NO_RESUMPTION.contains(&response.status().as_u16()) => {
                    let status = response.status().as_u16();
                    outcome.gave_up = Some(format!(
                        "the stream ended without a response, and the resume was answered \
                         HTTP {status}: {}",
                        if status == 405 {
                            "the server offers no stream to resume"
                        } else {
                            "the session, and its streams, are gone"
                        }
                    ));
                    return Read::Ended {
                        last_event_id: Some(last),
                    };
                }
                Ok(response) if !response.status().is_success() => Read::Ended {
                    last_event_id: Some(last.clone()),
                },
                Ok(response) => match self.read(response, id, hooks, false).await {
                    Ok(Read::Ended {
                        last_event_id: None,
                    })
                    | Err(_) => Read::Ended {
                        last_event_id: Some(last.clone()),
                    },
                    Ok(read) => read,
                },
                Err(_) => Read::Ended {
                    last_event_id: Some(last.clone()),
                },
            };
            match &read {
                Read::Ended {
                    last_event_id: Some(now),
                } if *now == last => fruitless += 1,
                _ => fruitless = 0,
            }
        }
        read
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A peer on 127.0.0.1 that answers every POST with an SSE stream of one
    /// event with an id and then ends it (no response), and every GET with
    /// `get_status`; it counts the GETs.
    async fn peer(get_status: &'static str) -> (String, Arc<AtomicU32>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let gets = Arc::new(AtomicU32::new(0));
        let counted = gets.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let answer = if head.starts_with(b"GET") {
                        counted.fetch_add(1, Ordering::SeqCst);
                        format!(
                            "HTTP/1.1 {get_status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        )
                    } else {
                        let event = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}"#;
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nid: e-1\ndata: {event}\n\n"
                        )
                    };
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (url, gets)
    }

    #[tokio::test]
    async fn a_resume_answered_405_ends_the_call_at_once_with_the_reason() {
        let (url, gets) = peer("405 Method Not Allowed").await;
        let mut client = ScriptedClient::new(&url, "2025-11-25", ClientSpec::default(), json!({}));
        let outcome = client
            .call("work", &json!({}), None, &mut NoHooks)
            .await
            .unwrap();
        let gave_up = outcome.gave_up.unwrap_or_default();
        assert!(
            gave_up.contains("HTTP 405: the server offers no stream to resume"),
            "{gave_up}"
        );
        assert_eq!(
            gets.load(Ordering::SeqCst),
            1,
            "one resume, not one per allowed resume"
        );
        assert_eq!(outcome.recoveries, 1);
        assert!(!outcome.timed_out);
    }

    #[tokio::test]
    async fn a_resume_refused_otherwise_is_tried_again_up_to_the_limit() {
        // 503 may pass (a server restarting): the client tries again.
        let (url, gets) = peer("503 Service Unavailable").await;
        let spec = ClientSpec {
            max_resumes: 2,
            resume_delay_ms: 0,
            ..ClientSpec::default()
        };
        let mut client = ScriptedClient::new(&url, "2025-11-25", spec, json!({}));
        let outcome = client
            .call("work", &json!({}), None, &mut NoHooks)
            .await
            .unwrap();
        assert_eq!(
            outcome.gave_up.as_deref(),
            Some("the stream ended without a response")
        );
        assert_eq!(gets.load(Ordering::SeqCst), 2);
    }
}
