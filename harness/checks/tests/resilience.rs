//! Resilience on transcripts: a call a fault hit survives when its response
//! reaches the client through a resume or a re-issue, and is lost otherwise;
//! it is not judged without resumption or durability, nor after a kill.

mod support;

use mcp_harness_checks::{Analysis, Resilience, resilience};
use mcp_harness_wire::{Delivery, EndReason, Fault, FaultPhase, ToxicType, Transcript};
use serde_json::json;
use support::*;

/// The exchange of the call in [`cut_and_resumed`] (the initialize is 1).
const CUT_CALL: u64 = 2;

fn judge(transcript: &Transcript) -> Resilience {
    resilience(&Analysis::of(transcript))
}

#[test]
fn a_cut_call_whose_resume_brings_the_response_survived() {
    let mut w = cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))]);
    w.fault(Some(CUT_CALL), faults::cut());
    assert_eq!(judge(&w.transcript()), Resilience::Survived { calls: 1 });
}

#[test]
fn a_cut_call_whose_resume_never_brings_the_response_is_lost() {
    let mut w = cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0))]);
    w.fault(Some(CUT_CALL), faults::cut());
    let judged = judge(&w.transcript());
    assert!(judged.lost(), "{judged:?}");
    assert!(judged.summary().contains("1 of 1"), "{}", judged.summary());
}

#[test]
fn a_call_reissued_after_a_dropped_request_survives_by_its_reissue() {
    let mut w = clean_call();
    let dropped = w.call(2, json!("again"));
    w.fault(Some(dropped), faults::drop_request());
    w.end(dropped, EndReason::Cut);
    let again = w.call(3, json!("again"));
    w.sent(again, "3-1", result(3));
    w.end(again, EndReason::Complete);
    assert_eq!(judge(&w.transcript()), Resilience::Survived { calls: 1 });
}

#[test]
fn without_event_ids_or_durability_nothing_is_judged() {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.event(
        x,
        None,
        Some(progress(json!("tok"), 0.0)),
        Delivery::Delivered,
    );
    w.fault(Some(x), faults::cut());
    w.end(x, EndReason::Cut);
    let again = w.call(2, json!("tok"));
    w.end(again, EndReason::Cut);
    assert!(matches!(
        judge(&w.transcript()),
        Resilience::NotJudged { reason } if reason.contains("no resumption")
    ));
}

#[test]
fn a_client_that_never_tries_to_recover_is_not_judged() {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    priming(&mut w, x, "1-0");
    w.fault(Some(x), faults::cut());
    w.end(x, EndReason::Cut);
    assert!(matches!(
        judge(&w.transcript()),
        Resilience::NotJudged { reason } if reason.contains("did not try")
    ));
}

#[test]
fn no_fault_or_a_kill_is_not_chaos_for_resilience() {
    assert_eq!(judge(&clean_call().transcript()), Resilience::NotChaos);
    let mut w = cut_and_resumed(&[]);
    w.fault(Some(CUT_CALL), faults::cut());
    w.fault(None, faults::kill());
    assert_eq!(judge(&w.transcript()), Resilience::NotChaos);
}

/// Call `x` on `w` ends, with its response or without.
fn finish(mut w: Wire, x: u64, answered: bool) -> Transcript {
    if answered {
        w.sent(x, "1-2", result(1));
    }
    w.end(x, EndReason::Complete);
    w.transcript()
}

/// A legacy call on `w` with its stream stalled (a fault on it), and its
/// response delivered or not.
fn stalled_call(answered: bool) -> Transcript {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 0.0));
    w.fault(Some(x), faults::stall());
    w.advance(300);
    finish(w, x, answered)
}

#[test]
fn a_stalled_call_survives_by_its_response_with_no_recovery() {
    assert_eq!(
        judge(&stalled_call(true)),
        Resilience::Survived { calls: 1 }
    );
}

#[test]
fn a_stalled_call_that_never_gets_its_response_is_lost() {
    let judged = judge(&stalled_call(false));
    assert!(judged.lost(), "{judged:?}");
    assert!(
        judged.summary().contains("only slowed it down"),
        "{}",
        judged.summary()
    );
}

/// A legacy call through a latency toxic, after `before` (fault records
/// between the toxic and the call), answered or not.
fn call_through_latency(
    before: &[(FaultPhase, Fault)],
    answered: bool,
    cancelled: bool,
) -> Transcript {
    let mut w = Wire::legacy();
    w.fault(None, faults::toxic(ToxicType::Latency));
    for (phase, fault) in before {
        w.fault_phase(None, *phase, fault.clone());
    }
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 0.0));
    if cancelled {
        let c = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
            mcp_harness_wire::Headers::default(),
        );
        w.status(c, 202);
    }
    finish(w, x, answered)
}

#[test]
fn a_call_through_a_latency_toxic_must_get_its_response() {
    assert_eq!(
        judge(&call_through_latency(&[], true, false)),
        Resilience::Survived { calls: 1 }
    );
    assert!(judge(&call_through_latency(&[], false, false)).lost());
}

#[test]
fn a_slowed_call_is_not_judged_once_the_toxic_is_gone_or_a_losing_fault_stands_or_it_was_cancelled()
{
    let latency = faults::toxic(ToxicType::Latency);
    let reset = faults::toxic(ToxicType::ResetPeer);
    for (before, cancelled) in [
        (vec![(FaultPhase::Cleared, latency)], false),
        (vec![(FaultPhase::Fired, Fault::Network)], false),
        (vec![(FaultPhase::Fired, reset)], false),
        (vec![], true),
    ] {
        let before = &before[..];
        assert_eq!(
            judge(&call_through_latency(before, false, cancelled)),
            Resilience::NotChaos,
            "{before:?}, cancelled {cancelled}"
        );
    }
}

/// A stdio call after a pipe fault (or after it was cleared), answered or
/// not.
fn call_through_pipes(cleared: bool, answered: bool) -> Transcript {
    use mcp_harness_wire::{ProcessEvent, Record, Side, WireEvent};
    let mut lines = vec![
        (Side::Client, INITIALIZE_LINE),
        (Side::Server, INITIALIZED_LINE),
        (
            Side::Client,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ),
        (
            Side::Client,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}}"#,
        ),
    ];
    if answered {
        lines.push((
            Side::Server,
            r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#,
        ));
    }
    let mut transcript =
        stdio_transcript(&lines, &[ProcessEvent::StdinClosed, ProcessEvent::Exited]);
    // The pipe faults set after the initialization, before the call.
    let mut set = vec![FaultPhase::Fired];
    if cleared {
        set.push(FaultPhase::Cleared);
    }
    for (i, phase) in set.into_iter().enumerate() {
        transcript.records.insert(
            4 + i,
            Record {
                seq: 0,
                at_us: 0,
                event: WireEvent::Fault {
                    exchange: None,
                    phase,
                    id: None,
                    fault: faults::pipe(),
                    detail: String::new(),
                },
            },
        );
    }
    for (seq, record) in transcript.records.iter_mut().enumerate() {
        record.seq = seq as u64;
    }
    transcript
}

#[test]
fn a_stdio_call_through_pipe_faults_must_get_its_response() {
    assert_eq!(
        judge(&call_through_pipes(false, true)),
        Resilience::Survived { calls: 1 }
    );
    assert!(judge(&call_through_pipes(false, false)).lost());
    assert_eq!(
        judge(&call_through_pipes(true, false)),
        Resilience::NotChaos
    );
}
