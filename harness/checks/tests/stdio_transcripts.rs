//! A stdio transcript is judged by the same checks as an HTTP one: its lines
//! are regrouped as exchanges (each client request with the server lines that
//! belong to it), so progress, elicitation, responses and the schema are
//! judged unchanged, and the rules only HTTP has are skipped with that reason.

mod support;

use mcp_harness_checks::{Analysis, Outcome, judge};
use mcp_harness_wire::{ProcessEvent, Side, Transcript};
use support::*;

/// A travel call over stdio: progress, an elicitation the client answers, the
/// result; `second_progress` is the second progress value, and the client
/// declares elicitation when `elicits`.
fn travel_call(second_progress: u32, elicits: bool) -> Transcript {
    let capabilities = if elicits {
        r#"{"elicitation":{}}"#
    } else {
        "{}"
    };
    let initialize = INITIALIZE_LINE.replace(
        r#""capabilities":{}"#,
        &format!(r#""capabilities":{capabilities}"#),
    );
    let progress = |value: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":"trip","progress":{value}}}}}"#
        )
    };
    let lines = [
        (Side::Client, initialize),
        (Side::Server, INITIALIZED_LINE.to_owned()),
        (Side::Client, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned()),
        (Side::Client, r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"travel","arguments":{},"_meta":{"progressToken":"trip"}}}"#.to_owned()),
        (Side::Server, progress(10)),
        (Side::Server, progress(second_progress)),
        (Side::Server, r#"{"jsonrpc":"2.0","id":0,"method":"elicitation/create","params":{"mode":"form","message":"Book?","requestedSchema":{"type":"object","properties":{"ok":{"type":"boolean"}}}}}"#.to_owned()),
        (Side::Client, r#"{"jsonrpc":"2.0","id":0,"result":{"action":"accept","content":{"ok":true}}}"#.to_owned()),
        (Side::Server, r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"booked"}]}}"#.to_owned()),
    ];
    let lines: Vec<(Side, &str)> = lines.iter().map(|(s, t)| (*s, t.as_str())).collect();
    stdio_transcript(&lines, &[ProcessEvent::StdinClosed, ProcessEvent::Exited])
}

fn outcome(transcript: &Transcript, check: &str) -> Outcome {
    judge(transcript)
        .into_iter()
        .find(|v| v.check == check)
        .unwrap_or_else(|| panic!("no verdict of {check}"))
        .outcome
}

#[test]
fn a_stdio_call_is_regrouped_as_its_request_with_its_progress_question_and_response() {
    let transcript = travel_call(50, true);
    let analysis = Analysis::of(&transcript);
    assert!(analysis.is_stdio());
    assert_eq!(analysis.version, "2025-11-25");
    let call = analysis
        .exchanges
        .iter()
        .find(|x| x.rpc_method() == Some("tools/call"))
        .unwrap();
    let methods: Vec<&str> = call
        .events
        .iter()
        .map(|e| {
            let m = e.message.as_ref().unwrap();
            m["method"].as_str().unwrap_or("(response)")
        })
        .collect();
    assert_eq!(
        methods,
        [
            "notifications/progress",
            "notifications/progress",
            "elicitation/create",
            "(response)"
        ]
    );
    for check in [
        "progress.increasing",
        "progress.token_known",
        "response.exactly_once",
        "jsonrpc.well_formed",
        "elicitation.only_if_declared",
        "stdio.stdout_messages_only",
        "stdio.exits_on_stdin_close",
    ] {
        assert_eq!(outcome(&transcript, check), Outcome::Pass, "{check}");
    }
}

#[test]
fn the_same_checks_fail_a_stdio_call_that_breaks_their_rules() {
    // Progress going back down, and an elicitation to a client that never declared it.
    let transcript = travel_call(5, false);
    assert_eq!(outcome(&transcript, "progress.increasing"), Outcome::Fail);
    assert_eq!(
        outcome(&transcript, "elicitation.only_if_declared"),
        Outcome::Fail
    );
}

#[test]
fn rules_only_http_has_are_skipped_on_stdio_and_stdio_rules_on_http() {
    let transcript = travel_call(50, true);
    for check in [
        "session.unknown_id_404",
        "security.origin_403",
        "sse.priming_event",
        "stream.nothing_lost",
    ] {
        match outcome(&transcript, check) {
            Outcome::Skipped(reason) => assert!(reason.contains("stdio"), "{check}: {reason}"),
            other => panic!("{check}: {other:?}"),
        }
    }
    let http = Wire::legacy().transcript();
    match outcome(&http, "stdio.stdout_messages_only") {
        Outcome::Skipped(reason) => assert!(reason.contains("HTTP"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
