//! Progress notifications: known tokens, increasing values, none after the response.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::support::{delivered_in_order, is_response, is_token_text, progress_of};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "progress.token_known",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic/utilities/progress#behavior-requirements",
            quote: "Progress notifications MUST only reference tokens that were provided in an active request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: progress_token_known,
    },
    Check {
        id: "progress.increasing",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic/utilities/progress#progress-flow",
            quote: "The progress value MUST increase with each notification, even if the total is unknown.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: progress_increasing,
    },
    Check {
        id: "progress.not_after_response",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic/utilities/progress#behavior-requirements",
            quote: "Progress notifications MUST only reference tokens that were provided in an active request (none after its response).",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: progress_not_after_response,
    },
];

/// Progress tokens the client sent, per session, with the request's JSON-RPC id.
fn tokens_sent(a: &Analysis) -> HashMap<(String, String), Value> {
    let mut tokens = HashMap::new();
    for x in &a.exchanges {
        if let (Some(token), Some(id)) = (
            x.body
                .as_ref()
                .and_then(|b| b.pointer("/params/_meta/progressToken")),
            x.rpc_id(),
        ) {
            tokens.insert(
                (
                    x.session().unwrap_or_default().to_owned(),
                    token.to_string(),
                ),
                id.clone(),
            );
        }
    }
    tokens
}

fn progress_token_known(a: &Analysis) -> Judged {
    let tokens = tokens_sent(a);
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if let Some((token, _)) = progress_of(message) {
                judged.examined += 1;
                if !tokens
                    .contains_key(&(x.session().unwrap_or_default().to_owned(), token.clone()))
                {
                    judged.findings.push(Finding::at(
                        seq,
                        format!("progress for token {token}, which the client never sent"),
                        "only tokens of the client's own requests",
                    ));
                }
            }
        }
    }
    judged
}

/// The request a progress notification at record `seq` belongs to: the latest
/// request of the session that sent its token before it.
fn request_of_token(a: &Analysis, session: &str, token: &str, seq: u64) -> Option<u64> {
    a.exchanges
        .iter()
        .filter(|x| x.request_seq < seq && x.session().unwrap_or_default() == session)
        .filter(|x| {
            x.body
                .as_ref()
                .and_then(|b| b.pointer("/params/_meta/progressToken"))
                .is_some_and(|t| is_token_text(t, token))
        })
        .map(|x| x.id)
        .next_back()
}

fn progress_increasing(a: &Analysis) -> Judged {
    let mut last: HashMap<(String, String, Option<u64>), f64> = HashMap::new();
    let mut judged = Judged::default();
    for (seq, x, message) in delivered_in_order(a) {
        if let Some((token, value)) = progress_of(message) {
            judged.examined += 1;
            let session = x.session().unwrap_or_default().to_owned();
            // A request's own stream carries its progress; a resumed stream carries
            // the progress of the stream it resumes (the latest request with the token).
            let own = x
                .body
                .as_ref()
                .and_then(|b| b.pointer("/params/_meta/progressToken"))
                .is_some_and(|t| is_token_text(t, &token));
            let request = if own {
                Some(x.id)
            } else {
                request_of_token(a, &session, &token, seq)
            };
            let key = (session, token.clone(), request);
            if let Some(previous) = last.get(&key)
                && value <= *previous
            {
                judged.findings.push(Finding::at(
                    seq,
                    format!("progress {value} for token {token} after {previous}"),
                    "a value greater than the last one",
                ));
            }
            last.insert(key, value);
        }
    }
    judged
}

fn progress_not_after_response(a: &Analysis) -> Judged {
    let tokens = tokens_sent(a);
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let session = x.session().unwrap_or_default().to_owned();
        let mut answered: BTreeSet<String> = BTreeSet::new();
        for e in &x.events {
            let Some(message) = &e.message else { continue };
            if is_response(message) {
                answered.insert(message["id"].to_string());
            } else if let Some((token, _)) = progress_of(message) {
                judged.examined += 1;
                if let Some(request) = tokens.get(&(session.clone(), token.clone()))
                    && answered.contains(&request.to_string())
                {
                    judged.findings.push(Finding::at(
                        e.seq,
                        format!(
                            "progress for token {token} after the response to request {request}"
                        ),
                        "no progress once the request is answered",
                    ));
                }
            }
        }
    }
    judged
}
