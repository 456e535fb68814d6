//! The phases of a fault in the transcript: what a check times from a fault
//! starts at its `fired` record (not at the `armed` one of its request), and a
//! declared fault with no `fired` record is "not exercised", with the reason.

mod support;

use mcp_harness_checks::{Analysis, Outcome, client_catalog, judge_one, unexercised_faults};
use mcp_harness_wire::{
    Delivery, EndReason, Fault, FaultPhase, Headers, StreamFault, Transcript, WireEvent,
};
use serde_json::{Value, json};
use support::*;

fn cut() -> Fault {
    Fault::stream(StreamFault::Cut { after: 2 })
}

/// A legacy call whose cut was armed at its request, fired `fired_after_ms`
/// later (after a priming event with `retry: 1000` and a progress), and
/// resumed `resumed_after_ms` after the cut.
fn cut_then_resumed(fired_after_ms: u64, resumed_after_ms: u64) -> Transcript {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.fault_phase(Some(x), FaultPhase::Armed, cut());
    w.push(WireEvent::Sse {
        exchange: x,
        index: 1,
        id: Some("1-0".into()),
        event: None,
        retry_ms: Some(1000),
        data: None,
        delivery: Delivery::Delivered,
    });
    w.advance(fired_after_ms);
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    w.fault(Some(x), cut());
    w.end(x, EndReason::Cut);
    w.advance(resumed_after_ms);
    let r = w.request(
        "GET",
        Value::Null,
        Headers {
            last_event_id: Some("1-1".into()),
            ..Headers::default()
        },
    );
    w.stream(r);
    w.transcript()
}

fn waits_retry(transcript: &Transcript) -> Outcome {
    let check = client_catalog()
        .iter()
        .find(|c| c.id == "client.waits_retry")
        .expect("in the catalog");
    judge_one(check, &Analysis::of(transcript)).outcome
}

#[test]
fn a_cut_is_timed_from_its_fired_record_not_from_the_request_that_armed_it() {
    // The client came back 300 ms after the cut (retry said 1000), 1,200 ms
    // after the request that armed the cut: only the fired record shows it.
    let early = cut_then_resumed(900, 300);
    let analysis = Analysis::of(&early);
    let call = analysis
        .exchanges
        .iter()
        .find(|x| x.rpc_method() == Some("tools/call"))
        .expect("the call");
    // 900 ms after the request (the fixture's clock ticks a little per record).
    let after = call.cut_at_us.expect("cut") - call.request_at_us;
    assert!((900_000..901_000).contains(&after), "{after} µs");
    assert_eq!(waits_retry(&early), Outcome::Fail);
    assert_eq!(waits_retry(&cut_then_resumed(900, 1100)), Outcome::Pass);
}

#[test]
fn a_version_1_transcript_reads_its_two_cut_records_as_armed_then_fired() {
    // The same story as version 1 wrote it: the rule's Debug form at the
    // request, the cut's own words when it happened.
    let header = json!({"seq": 0, "at_us": 0, "kind": "header", "format": mcp_harness_wire::TRANSCRIPT_FORMAT, "version": 1, "started_unix_ms": 0, "target": "http://127.0.0.1:1/mcp"});
    let mut text = format!("{header}\n");
    for record in &cut_then_resumed(900, 300).records {
        let mut value = serde_json::to_value(record).unwrap();
        if value["kind"] == "fault" {
            let armed = value["phase"] == "armed";
            value["fault"] = json!("cut");
            value["detail"] = json!(if armed {
                "Cut { after: 2 }"
            } else {
                "connection dropped after 2 events, on the client's side and the server's"
            });
            value.as_object_mut().unwrap().remove("phase");
        }
        text.push_str(&value.to_string());
        text.push('\n');
    }
    let read = Transcript::from_jsonl(&text).unwrap();
    let phases: Vec<FaultPhase> = read
        .records
        .iter()
        .filter_map(|r| match &r.event {
            WireEvent::Fault { phase, fault, .. } => {
                assert_eq!(fault, &cut());
                Some(*phase)
            }
            _ => None,
        })
        .collect();
    assert_eq!(phases, [FaultPhase::Armed, FaultPhase::Fired]);
    assert_eq!(waits_retry(&read), Outcome::Fail);
}

/// A call with `events` progress events, and a cut declared as fault 1:
/// matched to the call when `matched`, fired when `fired`.
fn declared_cut(matched: bool, events: usize, fired: bool) -> Transcript {
    let mut w = Wire::legacy();
    w.push(WireEvent::Fault {
        exchange: None,
        phase: FaultPhase::Armed,
        id: Some(1),
        fault: cut(),
        detail: "armed for the 1st tools/call of tool `travel_agent`".into(),
    });
    let x = w.call(1, json!("tok"));
    let mark = |w: &mut Wire, phase: FaultPhase| {
        w.push(WireEvent::Fault {
            exchange: Some(x),
            phase,
            id: Some(1),
            fault: cut(),
            detail: String::new(),
        });
    };
    if matched {
        mark(&mut w, FaultPhase::Armed);
    }
    for n in 0..events {
        w.sent(x, &format!("1-{n}"), progress(json!("tok"), n as f64));
    }
    if fired {
        mark(&mut w, FaultPhase::Fired);
    }
    w.sent(x, "1-9", result(1));
    w.end(x, EndReason::Complete);
    w.transcript()
}

#[test]
fn a_declared_fault_that_fired_is_exercised() {
    assert!(unexercised_faults(&Analysis::of(&declared_cut(true, 3, true))).is_empty());
}

#[test]
fn a_declared_fault_no_request_matched_says_its_stream_never_opened() {
    let transcript = declared_cut(false, 3, false);
    let declaring = transcript
        .records
        .iter()
        .find(|r| matches!(r.event, WireEvent::Fault { .. }))
        .map(|r| r.seq);
    let missed = unexercised_faults(&Analysis::of(&transcript));
    assert_eq!(missed.len(), 1);
    assert_eq!(Some(missed[0].seq), declaring, "the declaring record");
    assert_eq!(missed[0].fault, cut());
    assert!(
        missed[0].reason.contains("never opened") && missed[0].reason.contains("travel_agent"),
        "{}",
        missed[0].reason
    );
}

#[test]
fn a_declared_fault_whose_stream_was_too_short_says_how_many_events_it_had() {
    let missed = unexercised_faults(&Analysis::of(&declared_cut(true, 1, false)));
    assert_eq!(missed.len(), 1);
    assert!(
        missed[0]
            .reason
            .contains("whose stream ended after 2 events, before the fault's point"),
        "{}",
        missed[0].reason
    );
}

#[test]
fn faults_with_no_declaration_are_never_unexercised() {
    // Toxics, the network and pipe faults fire as they are set.
    let mut w = Wire::legacy();
    w.fault(None, Fault::Network);
    w.fault_phase(None, FaultPhase::Cleared, Fault::Network);
    assert!(unexercised_faults(&Analysis::of(&w.transcript())).is_empty());
}
