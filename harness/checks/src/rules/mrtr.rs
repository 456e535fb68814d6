//! Multi round-trip requests (2026-07-28, SEP-2322), judged on servers: an
//! `InputRequiredResult` only where the spec allows one and never empty, and
//! how a server answers a retry that breaks the rules (a tampered
//! `requestState`, answers missing, answers to questions never asked, answers
//! of the wrong shape). A retry is linked to the round it answers by its
//! method and target (tool or prompt name, resource URI): the latest
//! `InputRequiredResult` for them before it.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::support::{Answered, answers, method_of, only_if_declared, short};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The requests a server may answer with an `InputRequiredResult`.
const SUPPORTED: [&str; 3] = ["prompts/get", "resources/read", "tools/call"];
/// The requests an `inputRequests` entry may be.
const INPUT_METHODS: [&str; 3] = ["elicitation/create", "sampling/createMessage", "roots/list"];

const SECTION_WORKFLOW: &str = "basic/patterns/mrtr#server-requirements-basic-workflow";
const SECTION_ERRORS: &str = "basic/patterns/mrtr#error-handling";

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "mrtr.supported_requests_only",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "basic/patterns/mrtr#supported-requests",
            quote: "Servers MAY send InputRequiredResult responses on the following client requests: prompts/get, resources/read, tools/call. Servers MUST NOT send InputRequiredResult responses on any other client requests.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: supported_requests_only,
    },
    Check {
        id: "mrtr.input_required_well_formed",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: SECTION_WORKFLOW,
            quote: "inputRequests values are request objects that MUST be one of ElicitRequest, CreateMessageRequest, or ListRootsRequest. Servers MUST include at least one of inputRequests or requestState in every InputRequiredResult response.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: input_required_well_formed,
    },
    Check {
        id: "mrtr.tampered_state_rejected",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: SECTION_WORKFLOW,
            quote: "If requestState influences authorization, resource access, or business logic, servers MUST protect its integrity (e.g. HMAC or AEAD) and MUST reject state that fails verification. Integrity protection MAY be omitted only when tampering can cause nothing worse than request failure. (A warning here: the harness cannot see whether the state influences business logic, the condition of the MUST.)",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: tampered_state_rejected,
    },
    Check {
        id: "mrtr.missing_input_rerequested",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: SECTION_ERRORS,
            quote: "If the client fails to send all the information requested in a previous InputRequests, and the missing information is necessary for the server to process the request, the server SHOULD respond with a new InputRequiredResult requesting the missing information again, rather than returning an error.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: missing_input_rerequested,
    },
    Check {
        id: "mrtr.extra_input_ignored",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: SECTION_ERRORS,
            quote: "If additional, unexpected parameters are provided in the InputResponses object, the server SHOULD ignore any information it does not recognize or need.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: extra_input_ignored,
    },
    Check {
        id: "mrtr.invalid_input_refused",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Should,
            section: SECTION_ERRORS,
            quote: "Servers SHOULD validate that the data provided by the client is a valid InputResponses object and that the information inside can be correctly parsed. Protocol errors (malformed JSON, invalid schema, internal server errors) SHOULD return a JSON-RPC error response with an appropriate error code and message.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: invalid_input_refused,
    },
    Check {
        id: "roots.only_if_declared",
        rules: &[
            Rule {
                versions: Versions::between("2025-03-26", "2025-11-25"),
                level: Level::Should,
                section: "basic/lifecycle#operation",
                quote: "During the operation phase, the client and server exchange messages according to the negotiated capabilities. Both parties SHOULD only use capabilities that were successfully negotiated.",
            },
            Rule {
                versions: Versions::MODERN,
                level: Level::Must,
                section: SECTION_WORKFLOW,
                quote: "Servers MUST NOT send an inputRequests that the client has not declared support for in its capabilities.",
            },
        ],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: roots_declared,
    },
];

fn is_input_required(result: Option<&Value>) -> bool {
    result
        .and_then(|r| r.get("resultType"))
        .and_then(Value::as_str)
        == Some("input_required")
}

fn supported_requests_only(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for answered in answers(a) {
        let Some(result) = answered.result() else {
            continue;
        };
        judged.examined += 1;
        let method = method_of(answered.request).unwrap_or("?");
        if is_input_required(Some(result)) && !SUPPORTED.contains(&method) {
            judged.findings.push(Finding::at(
                answered.seq,
                format!(
                    "{method} answered with an InputRequiredResult: {}",
                    short(result)
                ),
                "an InputRequiredResult only on prompts/get, resources/read or tools/call",
            ));
        }
    }
    judged
}

fn input_required_well_formed(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for answered in answers(a) {
        let Some(result) = answered.result().filter(|r| is_input_required(Some(r))) else {
            continue;
        };
        judged.examined += 1;
        let requests = result.get("inputRequests").and_then(Value::as_object);
        let state = result.get("requestState");
        let problem = if requests.is_none() && state.is_none() {
            Some("an InputRequiredResult with neither inputRequests nor requestState".to_owned())
        } else {
            requests.into_iter().flatten().find_map(|(key, request)| {
                let method = method_of(request);
                (!method.is_some_and(|m| INPUT_METHODS.contains(&m))).then(|| {
                    format!(
                        "input request `{key}` is {} (method {})",
                        short(request),
                        method.unwrap_or("missing")
                    )
                })
            })
        };
        if let Some(problem) = problem {
            judged.findings.push(Finding::at(
                answered.seq,
                problem,
                "inputRequests or requestState, each input request an elicitation/create, sampling/createMessage or roots/list",
            ));
        }
    }
    judged
}

/// A retry (a request that carries `inputResponses` or `requestState`) with
/// the round it answers.
struct Retry<'a> {
    retry: Answered<'a>,
    /// The `inputRequests` of the round it answers, by key (method of each).
    asked: BTreeMap<String, String>,
    /// Whether its `requestState` is one the server issued (or it sent none).
    state_issued: bool,
    /// Whether it sent a `requestState` at all.
    sends_state: bool,
}

impl Retry<'_> {
    fn responses(&self) -> Option<&serde_json::Map<String, Value>> {
        self.retry
            .request
            .pointer("/params/inputResponses")
            .and_then(Value::as_object)
    }

    /// Keys asked that the retry does not answer.
    fn missing(&self) -> Vec<&str> {
        self.asked
            .keys()
            .filter(|k| {
                self.responses()
                    .is_none_or(|r| r.get(*k).is_none_or(Value::is_null))
            })
            .map(String::as_str)
            .collect()
    }

    /// Keys answered that were never asked.
    fn extra(&self) -> Vec<&str> {
        self.responses()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .filter(|k| !self.asked.contains_key(*k))
            .collect()
    }

    /// Answers, to questions asked, whose shape is not their request's result.
    fn misshapen(&self) -> Vec<String> {
        let Some(responses) = self.responses() else {
            return Vec::new();
        };
        self.asked
            .iter()
            .filter_map(|(key, method)| {
                let answer = responses.get(key).filter(|v| !v.is_null())?;
                (!well_shaped(method, answer)).then(|| format!("`{key}`: {}", short(answer)))
            })
            .collect()
    }

    /// How the server answered: a complete result, a new round, or an error.
    fn ended(&self) -> Ending {
        match self.retry.result() {
            None => Ending::Error,
            Some(r) if is_input_required(Some(r)) => Ending::AskedAgain,
            Some(_) => Ending::Completed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Completed,
    AskedAgain,
    Error,
}

/// Whether `answer` has the shape of the result of an input request `method`.
fn well_shaped(method: &str, answer: &Value) -> bool {
    let Some(object) = answer.as_object() else {
        return false;
    };
    match method {
        "elicitation/create" => matches!(
            object.get("action").and_then(Value::as_str),
            Some("accept" | "decline" | "cancel")
        ),
        "sampling/createMessage" => object.get("role").is_some() && object.get("content").is_some(),
        "roots/list" => object.get("roots").is_some_and(Value::is_array),
        _ => true,
    }
}

/// The request's method and target (tool or prompt name, resource URI).
fn round_key(request: &Value) -> Option<(String, String)> {
    let method = method_of(request).filter(|m| SUPPORTED.contains(m))?;
    let params = request.get("params");
    let target = params
        .and_then(|p| p.get("name").or_else(|| p.get("uri")))
        .and_then(Value::as_str)
        .unwrap_or("");
    Some((method.to_owned(), target.to_owned()))
}

/// Every retry that follows a round of the same method and target.
fn retries(a: &Analysis) -> Vec<Retry<'_>> {
    let mut rounds: BTreeMap<(String, String), &Value> = BTreeMap::new();
    let mut issued: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for answered in answers(a) {
        let Some(key) = round_key(answered.request) else {
            continue;
        };
        let params = answered.request.get("params");
        let sent_state = params.and_then(|p| p.get("requestState"));
        let is_retry = params
            .is_some_and(|p| p.get("inputResponses").is_some() || p.get("requestState").is_some());
        if is_retry && let Some(round) = rounds.get(&key) {
            let asked = round
                .get("inputRequests")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, r)| (k.clone(), method_of(r).unwrap_or("").to_owned()))
                .collect();
            out.push(Retry {
                asked,
                state_issued: sent_state.is_none_or(|s| issued.contains(&s.to_string())),
                sends_state: sent_state.is_some(),
                retry: answered,
            });
        }
        match answered.result() {
            Some(result) if is_input_required(Some(result)) => {
                if let Some(state) = result.get("requestState") {
                    issued.insert(state.to_string());
                }
                rounds.insert(key, result);
            }
            _ => {
                rounds.remove(&key);
            }
        }
    }
    out
}

fn tampered_state_rejected(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for retry in retries(a)
        .into_iter()
        .filter(|r| r.sends_state && !r.state_issued)
    {
        judged.examined += 1;
        if retry.ended() == Ending::Completed {
            let state = retry.retry.request.pointer("/params/requestState");
            judged.findings.push(Finding::at(
                retry.retry.seq,
                format!(
                    "a retry with a requestState the server never issued ({}) was completed",
                    short(state.unwrap_or(&Value::Null))
                ),
                "a JSON-RPC error refusing the state (or a new round), never a result built on it",
            ));
        }
    }
    judged
}

fn missing_input_rerequested(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for retry in retries(a) {
        let missing = retry.missing();
        if !retry.state_issued || missing.is_empty() || !retry.misshapen().is_empty() {
            continue;
        }
        judged.examined += 1;
        let ending = retry.ended();
        if ending != Ending::AskedAgain {
            let how = match ending {
                Ending::Error => format!("an error {}", short(retry.retry.answer)),
                _ => "a complete result, without the input it asked for".to_owned(),
            };
            judged.findings.push(Finding::at(
                retry.retry.seq,
                format!(
                    "a retry that did not answer {} was answered with {how}",
                    missing.join(", ")
                ),
                "a new InputRequiredResult asking for the missing input again",
            ));
        }
    }
    judged
}

fn extra_input_ignored(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for retry in retries(a) {
        let extra = retry.extra();
        if !retry.state_issued
            || extra.is_empty()
            || !retry.missing().is_empty()
            || !retry.misshapen().is_empty()
        {
            continue;
        }
        judged.examined += 1;
        if retry.ended() == Ending::Error {
            judged.findings.push(Finding::at(
                retry.retry.seq,
                format!(
                    "a retry that answered every question, plus {} never asked, was refused: {}",
                    extra.join(", "),
                    short(retry.retry.answer)
                ),
                "the answers it did not ask for ignored, the request served",
            ));
        }
    }
    judged
}

fn invalid_input_refused(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for retry in retries(a) {
        let misshapen = retry.misshapen();
        if !retry.state_issued || misshapen.is_empty() {
            continue;
        }
        judged.examined += 1;
        if retry.ended() == Ending::Completed {
            judged.findings.push(Finding::at(
                retry.retry.seq,
                format!(
                    "a retry whose answers are not results of their requests ({}) was completed",
                    misshapen.join("; ")
                ),
                "a JSON-RPC error (or a new InputRequiredResult), never a result built on them",
            ));
        }
    }
    judged
}

fn roots_declared(a: &Analysis) -> Judged {
    only_if_declared(a, "roots/list", "roots")
}
