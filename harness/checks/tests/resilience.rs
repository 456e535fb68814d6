//! Resilience on transcripts: a call a fault hit survives when its response
//! reaches the client through a resume or a re-issue, and is lost otherwise;
//! it is not judged without resumption or durability, nor after a kill.

mod support;

use mcp_harness_checks::{Analysis, Resilience, resilience};
use mcp_harness_wire::{Delivery, EndReason, Transcript};
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
    w.fault(Some(CUT_CALL), "cut");
    assert_eq!(judge(&w.transcript()), Resilience::Survived { calls: 1 });
}

#[test]
fn a_cut_call_whose_resume_never_brings_the_response_is_lost() {
    let mut w = cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0))]);
    w.fault(Some(CUT_CALL), "cut");
    let judged = judge(&w.transcript());
    assert!(judged.lost(), "{judged:?}");
    assert!(judged.summary().contains("1 of 1"), "{}", judged.summary());
}

#[test]
fn a_call_reissued_after_a_dropped_request_survives_by_its_reissue() {
    let mut w = clean_call();
    let dropped = w.call(2, json!("again"));
    w.fault(Some(dropped), "drop_request");
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
    w.fault(Some(x), "cut");
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
    w.fault(Some(x), "cut");
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
    w.fault(Some(CUT_CALL), "cut");
    w.fault(None, "kill");
    assert_eq!(judge(&w.transcript()), Resilience::NotChaos);
}
