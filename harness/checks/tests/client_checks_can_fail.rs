//! Every client check, on a transcript where the client keeps its rule (pass)
//! and one where it breaks it (fail or warn). A meta-test keeps the catalog
//! and the fixtures in step.

mod support;

use mcp_harness_checks::{Analysis, Level, Outcome, client_catalog, judge_one};
use mcp_harness_wire::{Body, Delivery, EndReason, Headers, Side, Transcript, WireEvent};
use serde_json::{Value, json};
use support::*;

/// Headers a well-behaved client sends after initialize.
fn proper() -> Headers {
    Headers {
        mcp_session_id: Some("s-1".into()),
        mcp_protocol_version: Some("2025-11-25".into()),
        ..Headers::default()
    }
}

/// A 2026-07-28 call of the tool `téléport` whose POST carries `method` as
/// Mcp-Method and `name` as Mcp-Name, answered with a result.
fn posted_with(method: Option<&str>, name: Option<&str>) -> Transcript {
    let mut w = modern();
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "téléport", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}),
        Headers {
            mcp_protocol_version: Some("2026-07-28".into()),
            mcp_method: method.map(str::to_owned),
            mcp_name: name.map(str::to_owned),
            ..Headers::default()
        },
    );
    w.push(WireEvent::Response {
        exchange: x,
        status: 200,
        headers: Box::default(),
        body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 5, "result": {"resultType": "complete", "content": []}})),
        delivery: Delivery::Delivered,
    });
    w.transcript()
}

/// A tools/call POSTed with proper headers, answered on a stream.
fn call(w: &mut Wire, id: u64) -> u64 {
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "travel_agent", "_meta": {"progressToken": "tok"}}}),
        proper(),
    );
    w.stream(x);
    x
}

/// The client POSTs `answer` (a JSON-RPC response).
fn answer(w: &mut Wire, answer: Value) -> u64 {
    let x = w.request("POST", answer, proper());
    w.status(x, 202);
    x
}

fn resume_properly(w: &mut Wire, last: &str) -> u64 {
    let x = w.request(
        "GET",
        Value::Null,
        Headers {
            last_event_id: Some(last.into()),
            ..proper()
        },
    );
    w.stream(x);
    x
}

/// A call cut after a priming event with `retry: 1000` and one progress.
fn cut_with_retry() -> (Wire, u64) {
    let mut w = Wire::legacy();
    let x = call(&mut w, 1);
    w.push(WireEvent::Sse {
        exchange: x,
        index: 1,
        id: Some("1-0".into()),
        event: None,
        retry_ms: Some(1000),
        data: None,
        delivery: Delivery::Delivered,
    });
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    w.event(x, Some("1-2"), Some(result(1)), Delivery::Withheld);
    w.end(x, EndReason::Cut);
    (w, x)
}

fn question(w: &mut Wire, x: u64, method: &str, params: Value) {
    w.sent(
        x,
        "1-5",
        json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params}),
    );
}

fn elicitation_params() -> Value {
    json!({"message": "Confirm?", "requestedSchema": {"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]}})
}

/// A 2026-07-28 tools/call whose stream is cut after one progress, then
/// (with `again`) the same call sent again with request id `again`, answered.
fn modern_cut_call(again: Option<u64>) -> Transcript {
    let mut w = modern();
    let params = json!({"name": "travel_agent", "arguments": {"destination": "Paris"}});
    let post = |w: &mut Wire, id: u64| {
        let mut params = params.clone();
        params["_meta"] =
            json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "progressToken": id});
        w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}),
            Headers {
                mcp_protocol_version: Some("2026-07-28".into()),
                ..Headers::default()
            },
        )
    };
    let x = post(&mut w, 1);
    w.stream(x);
    w.event(x, None, Some(progress(json!(1), 0.0)), Delivery::Delivered);
    w.end(x, EndReason::Cut);
    if let Some(id) = again {
        let y = post(&mut w, id);
        w.stream(y);
        w.event(
            y,
            None,
            Some(json!({"jsonrpc": "2.0", "id": id, "result": {"resultType": "complete", "content": []}})),
            Delivery::Delivered,
        );
        w.end(y, EndReason::Complete);
    }
    w.transcript()
}

fn good(id: &str) -> Transcript {
    match id {
        "client.stdin_messages_only" => stdio_transcript(
            &[
                (Side::Client, INITIALIZE_LINE),
                (Side::Server, INITIALIZED_LINE),
            ],
            &[],
        ),
        "client.reissues_broken_request" => modern_cut_call(Some(2)),
        "client.jsonrpc_well_formed" => {
            let mut w = Wire::legacy();
            call(&mut w, 1);
            w.transcript()
        }
        "client.headers_after_init" => {
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            w.sent(x, "1-1", result(1));
            w.transcript()
        }
        "client.reinitializes_after_404" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                proper(),
            );
            w.status(x, 404);
            w.session = None;
            let init = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {}}),
                Headers::default(),
            );
            w.status(init, 200);
            w.transcript()
        }
        "client.resumes_with_last_event_id" | "client.no_cancel_on_disconnect" => {
            let (mut w, _) = cut_with_retry();
            w.advance(1200);
            let r = resume_properly(&mut w, "1-1");
            w.sent(r, "1-2", result(1));
            w.transcript()
        }
        "client.waits_retry" => {
            let (mut w, _) = cut_with_retry();
            w.advance(1200);
            resume_properly(&mut w, "1-1");
            w.transcript()
        }
        "client.answers_once" | "client.elicitation_answer_valid" | "client.schema_messages" => {
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            question(&mut w, x, "elicitation/create", elicitation_params());
            answer(
                &mut w,
                json!({"jsonrpc": "2.0", "id": 0, "result": {"action": "accept", "content": {"confirm": true}}}),
            );
            w.transcript()
        }
        "client.sampling_result_well_formed" => {
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            question(
                &mut w,
                x,
                "sampling/createMessage",
                json!({"messages": [], "maxTokens": 10}),
            );
            answer(
                &mut w,
                json!({"jsonrpc": "2.0", "id": 0, "result": {"role": "assistant", "content": {"type": "text", "text": "hi"}, "model": "m"}}),
            );
            w.transcript()
        }
        "client.delete_when_done" => {
            let mut w = Wire::legacy();
            let x = w.request("DELETE", Value::Null, proper());
            w.status(x, 200);
            w.transcript()
        }
        "client.request_headers" => {
            posted_with(Some("tools/call"), Some("=?base64?dMOpbMOpcG9ydA==?="))
        }
        other => panic!("no passing fixture for {other}"),
    }
}

fn bad(id: &str) -> Transcript {
    match id {
        "client.stdin_messages_only" => stdio_transcript(
            &[
                (Side::Client, "hello server"),
                (Side::Client, INITIALIZE_LINE),
                (Side::Server, INITIALIZED_LINE),
            ],
            &[],
        ),
        "client.reissues_broken_request" => modern_cut_call(None),
        "client.jsonrpc_well_formed" => {
            let mut w = Wire::legacy();
            let x = w.request("POST", Value::Null, proper());
            if let Some(record) = w.records.last_mut()
                && let WireEvent::Request { body, .. } = &mut record.event
            {
                *body = Body::from_bytes(b"\x00garbage, not JSON", 1 << 20);
            }
            w.status(x, 400);
            w.transcript()
        }
        "client.headers_after_init" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                Headers {
                    mcp_session_id: Some("s-1".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 200);
            w.transcript()
        }
        "client.reinitializes_after_404" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                proper(),
            );
            w.status(x, 404);
            let again = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
                proper(),
            );
            w.status(again, 404);
            w.transcript()
        }
        "client.resumes_with_last_event_id" => {
            let (mut w, _) = cut_with_retry();
            w.advance(1200);
            resume_properly(&mut w, "1-0");
            w.transcript()
        }
        "client.waits_retry" => {
            let (mut w, _) = cut_with_retry();
            w.advance(100);
            resume_properly(&mut w, "1-1");
            w.transcript()
        }
        "client.answers_once" => {
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            question(&mut w, x, "elicitation/create", elicitation_params());
            for _ in 0..2 {
                answer(
                    &mut w,
                    json!({"jsonrpc": "2.0", "id": 0, "result": {"action": "decline"}}),
                );
            }
            w.transcript()
        }
        "client.no_cancel_on_disconnect" => {
            let (mut w, _) = cut_with_retry();
            let cancel = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
                proper(),
            );
            w.status(cancel, 202);
            w.transcript()
        }
        "client.schema_messages" => {
            // An ElicitResult whose action is none of accept, decline, cancel.
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            question(&mut w, x, "elicitation/create", elicitation_params());
            answer(
                &mut w,
                json!({"jsonrpc": "2.0", "id": 0, "result": {"action": "maybe"}}),
            );
            w.transcript()
        }
        "client.elicitation_answer_valid" => {
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            question(&mut w, x, "elicitation/create", elicitation_params());
            answer(
                &mut w,
                json!({"jsonrpc": "2.0", "id": 0, "result": {"action": "accept", "content": {"confirm": "yes"}}}),
            );
            w.transcript()
        }
        "client.sampling_result_well_formed" => {
            let mut w = Wire::legacy();
            let x = call(&mut w, 1);
            question(
                &mut w,
                x,
                "sampling/createMessage",
                json!({"messages": [], "maxTokens": 10}),
            );
            answer(
                &mut w,
                json!({"jsonrpc": "2.0", "id": 0, "result": {"role": "assistant", "content": {"type": "text", "text": "hi"}}}),
            );
            w.transcript()
        }
        "client.delete_when_done" => Wire::legacy().transcript(),
        "client.request_headers" => posted_with(Some("tools/call"), None),
        other => panic!("no failing fixture for {other}"),
    }
}

#[test]
fn every_client_check_passes_its_good_fixture_and_fails_its_bad_one() {
    for check in client_catalog() {
        let passing = judge_one(check, &Analysis::of(&good(check.id)));
        assert_eq!(
            passing.outcome,
            Outcome::Pass,
            "{}: {:?}",
            check.id,
            passing.findings
        );
        let failing = judge_one(check, &Analysis::of(&bad(check.id)));
        let expected = match failing.level {
            Level::Must => Outcome::Fail,
            Level::Should => Outcome::Warn,
        };
        assert_eq!(
            failing.outcome, expected,
            "{} must catch its fixture (examined {})",
            check.id, failing.examined
        );
        assert!(failing.findings.iter().all(|f| f.seq.is_some()));
    }
}

#[test]
fn a_client_that_never_resumes_a_cut_stream_is_warned() {
    let (w, _) = cut_with_retry();
    let check = client_catalog()
        .iter()
        .find(|c| c.id == "client.resumes_with_last_event_id")
        .unwrap();
    assert_eq!(
        judge_one(check, &Analysis::of(&w.transcript())).outcome,
        Outcome::Warn
    );
}

#[test]
fn elicitation_answers_in_input_responses_are_judged_too() {
    let mut w = Wire::session(
        "2026-07-28",
        json!({"elicitation": {}}),
        json!({"tools": {}}),
    );
    w.session = None;
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "t"}}),
        Headers::default(),
    );
    w.push(WireEvent::Response {
        exchange: x,
        status: 200,
        headers: Box::default(),
        body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "input_required", "inputRequests": {"price": {"method": "elicitation/create", "params": elicitation_params()}}}})),
        delivery: Delivery::Delivered,
    });
    let again = w.request("POST", json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t", "inputResponses": {"price": {"action": "decline", "content": {"confirm": true}}}}}), Headers::default());
    w.status(again, 200);
    let check = client_catalog()
        .iter()
        .find(|c| c.id == "client.elicitation_answer_valid")
        .unwrap();
    let verdict = judge_one(check, &Analysis::of(&w.transcript()));
    assert_eq!(verdict.outcome, Outcome::Fail, "decline with content");
}

#[test]
fn a_broken_2026_request_is_reissued_with_a_new_id_and_legacy_is_not_judged() {
    let check = client_catalog()
        .iter()
        .find(|c| c.id == "client.reissues_broken_request")
        .unwrap();
    let same_id = judge_one(check, &Analysis::of(&modern_cut_call(Some(1))));
    assert_eq!(same_id.outcome, Outcome::Fail);
    assert!(same_id.findings[0].observed.contains("same id"));
    let (legacy, _) = cut_with_retry();
    assert_eq!(
        judge_one(check, &Analysis::of(&legacy.transcript())).outcome,
        Outcome::Skipped("no such rule in 2025-11-25".into())
    );
}

#[test]
fn in_2026_every_request_carries_the_version_header() {
    let check = client_catalog()
        .iter()
        .find(|c| c.id == "client.headers_after_init")
        .unwrap();
    for (header, outcome) in [(Some("2026-07-28"), Outcome::Pass), (None, Outcome::Fail)] {
        let mut w = Wire::legacy();
        w.records.clear();
        w.session = None;
        let version = Headers {
            mcp_protocol_version: Some("2026-07-28".into()),
            ..Headers::default()
        };
        let discover = w.request("POST", json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}), version);
        w.status(discover, 200);
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}}),
            Headers {
                mcp_protocol_version: header.map(str::to_owned),
                ..Headers::default()
            },
        );
        w.status(x, 200);
        let verdict = judge_one(check, &Analysis::of(&w.transcript()));
        assert_eq!(
            verdict.outcome, outcome,
            "{header:?}: {:?}",
            verdict.findings
        );
    }
}

#[test]
fn ending_sessions_and_huge_bodies_are_not_held_against_the_client() {
    let outcome = |id: &str, transcript: &Transcript| {
        let check = client_catalog().iter().find(|c| c.id == id).unwrap();
        judge_one(check, &Analysis::of(transcript)).outcome
    };
    // A closing DELETE that finds the session already gone needs no new session.
    let mut w = Wire::legacy();
    let x = w.request("DELETE", Value::Null, proper());
    w.status(x, 404);
    let t = w.transcript();
    assert_eq!(
        outcome("client.reinitializes_after_404", &t),
        Outcome::NotObserved
    );
    assert_eq!(outcome("client.headers_after_init", &t), Outcome::Pass);
    // A body too large to record is not "not JSON".
    let mut w = Wire::legacy();
    let x = w.request("POST", Value::Null, proper());
    if let Some(record) = w.records.last_mut()
        && let WireEvent::Request { body, .. } = &mut record.event
    {
        *body = Body::Truncated { bytes: 50 << 20 };
    }
    w.status(x, 413);
    assert_ne!(
        outcome("client.jsonrpc_well_formed", &w.transcript()),
        Outcome::Fail
    );
}
