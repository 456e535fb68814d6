//! Every check in the catalog, on a transcript that keeps its rule (pass) and on
//! one that breaks it (fail or warn). A meta-test makes sure no check is left
//! without both.

mod support;

use mcp_harness_checks::{Analysis, Outcome, catalog, judge_one};
use mcp_harness_wire::{
    Body, Delivery, EndReason, Headers, ProcessEvent, Side, Transcript, WireEvent,
};
use serde_json::{Value, json};
use support::*;

fn good(id: &str) -> Transcript {
    match id {
        "stdio.stdout_messages_only" | "stdio.no_embedded_newlines" => stdio_transcript(
            &[
                (Side::Client, INITIALIZE_LINE),
                (Side::Server, INITIALIZED_LINE),
            ],
            &[],
        ),
        "stdio.exits_on_stdin_close" => stdio_transcript(
            &[(Side::Client, INITIALIZE_LINE)],
            &[ProcessEvent::StdinClosed, ProcessEvent::Exited],
        ),
        "stream.get_no_response" => get_stream(false),
        "auth.invalid_token_401" => invalid_token_answered(401, true),
        "jsonrpc.well_formed"
        | "progress.token_known"
        | "progress.increasing"
        | "progress.not_after_response"
        | "response.exactly_once"
        | "sse.priming_event"
        | "stream.event_id_unique" => clean_call().transcript(),
        "stream.nothing_lost" => {
            let mut w =
                cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))]);
            w.fault(Some(CUT_CALL), faults::partition());
            w.transcript()
        }
        "stream.no_duplicate_event"
        | "stream.no_duplicate_message"
        | "stream.replay_same_stream_only" => {
            cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))])
                .transcript()
        }
        "session.id_visible_ascii" => clean_call().transcript(),
        "stream.response_after_resume" => {
            let mut w =
                cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))]);
            w.fault(Some(CUT_CALL), faults::cut());
            w.transcript()
        }
        "stream.replay_after_last_event_id" | "stream.replay_own_session_only" => {
            cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))])
                .transcript()
        }
        "stream.request_scoped_on_own_stream" => clean_call().transcript(),
        "stream.closed_after_response" => {
            cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))])
                .transcript()
        }
        "load.refusals" => clean_call().transcript(),
        "session.missing_id_400" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    mcp_session_id: Some(String::new()),
                    ..Headers::default()
                },
            );
            fix_no_session(&mut w, x);
            w.status(x, 400);
            w.transcript()
        }
        "session.unknown_id_404" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    mcp_session_id: Some("forged".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 404);
            w.transcript()
        }
        "version.invalid_header_400" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    mcp_protocol_version: Some("1999-01-01".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 400);
            w.transcript()
        }
        "security.origin_403" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    origin: Some("https://evil.example".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 403);
            w.transcript()
        }
        "elicitation.only_if_declared" | "elicitation.requested_schema" => {
            elicit(json!({"elicitation": {}}), flat_schema()).transcript()
        }
        "schema.server_messages" => clean_call().transcript(),
        "logging.only_when_requested" => modern_call(
            Some("info"),
            json!({"resultType": "complete", "content": []}),
        )
        .transcript(),
        "result.result_type" => modern_call(
            Some("info"),
            json!({"resultType": "complete", "content": []}),
        )
        .transcript(),
        "resources.not_found_code" => read_missing(Wire::legacy(), not_found(-32002)),
        "stream.not_resumable" => modern_resume(None),
        "sampling.only_if_declared" => sample(json!({"sampling": {}})).transcript(),
        "logging.only_if_declared" | "logging.no_internal_details" => {
            log(json!({"logging": {}})).transcript()
        }
        "tasks.legal_transitions" => tasks(&[
            "working",
            "input_required",
            "working",
            "completed",
            "completed",
        ])
        .transcript(),
        "tools.schemas_valid" | "tools.names_unique" | "tools.name_characters" => exchanges(
            Wire::legacy(),
            &[
                (
                    "tools/list",
                    json!({}),
                    tools_page(&["a", "b.c"], Some("p2")),
                ),
                (
                    "tools/list",
                    json!({"cursor": "p2"}),
                    tools_page(&["d-e_f"], None),
                ),
            ],
        ),
        "tools.deterministic_order" => exchanges(
            modern(),
            &[
                ("tools/list", json!({}), tools_page(&["a", "b"], None)),
                ("tools/list", json!({}), tools_page(&["a", "b"], None)),
                // another set of tools is a change, not a reordering
                ("tools/list", json!({}), tools_page(&["c", "a"], None)),
            ],
        ),
        "pagination.cursors_stable" => exchanges(
            Wire::legacy(),
            &[
                (
                    "prompts/list",
                    json!({}),
                    json!({"prompts": [], "nextCursor": "p2"}),
                ),
                (
                    "prompts/list",
                    json!({"cursor": "p2"}),
                    json!({"prompts": [], "nextCursor": "p3"}),
                ),
                (
                    "prompts/list",
                    json!({"cursor": "p3"}),
                    json!({"prompts": []}),
                ),
                // a new listing may give the same cursors again
                (
                    "prompts/list",
                    json!({}),
                    json!({"prompts": [], "nextCursor": "p2"}),
                ),
            ],
        ),
        "pagination.invalid_cursor_32602" => exchanges(
            Wire::legacy(),
            &[(
                "tools/list",
                json!({"cursor": mcp_harness_checks::INVALID_CURSOR}),
                json!({"error": {"code": -32602, "message": "invalid cursor"}}),
            )],
        ),
        "security.binds_localhost" => listening(&["127.0.0.1:8080", "[::1]:8080"]),
        "jsonrpc.method_not_found" => exchanges(
            Wire::legacy(),
            &[
                (
                    mcp_harness_checks::UNKNOWN_METHOD,
                    json!({}),
                    json!({"error": {"code": -32601, "message": "Method not found"}}),
                ),
                // a method the schema defines is not judged, nor a result
                (
                    "tools/list",
                    json!({}),
                    json!({"error": {"code": -32602, "message": "bad params"}}),
                ),
                ("mcp-harness/an_extension", json!({}), json!({})),
                // nor another method the schema does not define (an extension's)
                (
                    "vendor/extension",
                    json!({}),
                    json!({"error": {"code": -32602, "message": "bad params"}}),
                ),
            ],
        ),
        "jsonrpc.error_id_null" => raw_post_answered(
            "this is not json",
            400,
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}),
        ),
        "ping.empty_result" => exchanges(
            Wire::legacy(),
            &[
                ("ping", json!({}), json!({})),
                ("ping", json!({}), json!({"_meta": {"x": 1}})),
            ],
        ),
        "completion.at_most_100" => exchanges(
            Wire::legacy(),
            &[(
                "completion/complete",
                json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}}),
                json!({"completion": {"values": vec!["v"; 100], "hasMore": true}}),
            )],
        ),
        "discover.answered" => modern().transcript(),
        "version.unsupported_error" => modern_answered(
            "server/discover",
            json!({"_meta": meta_of("1900-01-01")}),
            json!({"error": {"code": -32022, "message": "Unsupported protocol version", "data": {"supported": ["2026-07-28"], "requested": "1900-01-01"}}}),
            400,
        ),
        "meta.required_fields" => modern_answered(
            "tools/list",
            json!({}),
            json!({"error": {"code": -32602, "message": "missing _meta"}}),
            400,
        ),
        "mrtr.supported_requests_only" | "mrtr.input_required_well_formed" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"a": accepted()}, "requestState": "s1"})),
                done(),
            ),
        ]),
        "mrtr.tampered_state_rejected" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"a": accepted()}, "requestState": "s1-tampered"})),
                json!({"error": {"code": -32602, "message": "invalid requestState"}}),
            ),
        ]),
        "mrtr.missing_input_rerequested" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"wrong": accepted()}, "requestState": "s1"})),
                asks(&["a"], "s1"),
            ),
            (
                call(json!({"inputResponses": {"a": accepted()}, "requestState": "s1"})),
                done(),
            ),
        ]),
        "mrtr.extra_input_ignored" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(
                    json!({"inputResponses": {"a": accepted(), "x": accepted()}, "requestState": "s1"}),
                ),
                done(),
            ),
        ]),
        "mrtr.invalid_input_refused" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"a": 12345}, "requestState": "s1"})),
                json!({"error": {"code": -32602, "message": "inputResponses[a] is not an ElicitResult"}}),
            ),
        ]),
        "roots.only_if_declared" => rounds(&[(
            call(json!({"_meta": {"io.modelcontextprotocol/clientCapabilities": {"roots": {}}}})),
            asks_roots(),
        )]),
        "meta.server_info" => exchanges(
            modern_named(),
            &[(
                "tools/list",
                json!({}),
                json!({"resultType": "complete", "tools": [], "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}}}),
            )],
        ),
        "headers.mismatch_refused" => mismatched(
            400,
            json!({"error": {"code": -32020, "message": "Header mismatch: Mcp-Method"}}),
        ),
        "tasks.only_if_declared" => task_exchanges(&[(
            "tools/call",
            with_tasks(json!({"name": "t"})),
            json!({"resultType": "task", "taskId": "t9", "status": "working"}),
        )]),
        "tasks.get_detailed" => task_exchanges(&[
            (
                "tasks/get",
                with_tasks(json!({"taskId": "t9"})),
                json!({"resultType": "complete", "taskId": "t9", "status": "input_required", "inputRequests": {"q": {"method": "roots/list"}}}),
            ),
            (
                "tasks/get",
                with_tasks(json!({"taskId": "t9"})),
                json!({"resultType": "complete", "taskId": "t9", "status": "completed", "result": {"content": []}}),
            ),
        ]),
        "tasks.empty_acknowledgement" => task_exchanges(&[
            (
                "tasks/update",
                with_tasks(json!({"taskId": "t9", "inputResponses": {}})),
                json!({"resultType": "complete", "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}}}),
            ),
            (
                "tasks/cancel",
                with_tasks(json!({"taskId": "t9"})),
                json!({"resultType": "complete"}),
            ),
        ]),
        "tasks.unknown_id_32602" => task_exchanges(&[
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "t9", "status": "working"}),
            ),
            (
                "tasks/get",
                with_tasks(json!({"taskId": "t9"})),
                json!({"resultType": "complete", "taskId": "t9", "status": "working"}),
            ),
            (
                "tasks/get",
                with_tasks(json!({"taskId": "nope"})),
                json!({"error": {"code": -32602, "message": "unknown task"}}),
            ),
        ]),
        "tasks.unknown_id_refused" => task_exchanges(&[(
            "tasks/cancel",
            with_tasks(json!({"taskId": "nope"})),
            json!({"error": {"code": -32602, "message": "unknown task"}}),
        )]),
        "tasks.capability_required" => task_exchanges(&[(
            "tasks/get",
            json!({"taskId": "nope"}),
            json!({"error": {"code": -32021, "message": "Missing required client capability"}}),
        )]),
        "subscriptions.acknowledged_first"
        | "subscriptions.tagged"
        | "subscriptions.only_requested" => listen_stream(&[
            acknowledgement(Some(20)),
            note("notifications/resources/list_changed", json!({}), Some(20)),
        ]),
        "tasks.issued_resolves" => task_exchanges(&[
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "t9", "status": "working", "ttlMs": null}),
            ),
            (
                "tasks/get",
                with_tasks(json!({"taskId": "t9"})),
                json!({"resultType": "complete", "taskId": "t9", "status": "failed", "error": {"code": -32603, "message": "interrupted"}}),
            ),
        ]),
        "tasks.owner_only" => {
            owned_task(json!({"error": {"code": -32602, "message": "unknown task"}}))
        }
        "tasks.id_unguessable" => task_exchanges(&[
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "a714a828eed2447eae00f66c6858b1de", "status": "working"}),
            ),
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "b3e06c5daec04993835d32675fce036e", "status": "working"}),
            ),
        ]),
        "cache.hints" => exchanges(
            modern(),
            &[
                (
                    "tools/list",
                    json!({}),
                    json!({"resultType": "complete", "tools": [], "ttlMs": 0, "cacheScope": "private"}),
                ),
                // an interim result carries no hints
                (
                    "resources/read",
                    json!({"uri": "x://y"}),
                    json!({"resultType": "input_required", "requestState": "s"}),
                ),
            ],
        ),
        other => panic!("no passing fixture for {other}"),
    }
}

/// Progress for a call's token on the standalone GET stream.
fn progress_on_get_stream() -> Transcript {
    let mut w = Wire::legacy();
    let get = w.request("GET", Value::Null, Headers::default());
    w.stream(get);
    let x = w.call(1, json!("tok"));
    w.sent(get, "g-1", progress(json!("tok"), 10.0));
    w.sent(x, "1-1", result(1));
    w.transcript()
}

/// A call of session s-2 whose stream carries one progress event `id`.
fn other_session_progress(w: &mut Wire, id: &str) {
    let theirs = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "_meta": {"progressToken": "theirs"}}}),
        Headers {
            mcp_session_id: Some("s-2".into()),
            ..Headers::default()
        },
    );
    w.stream(theirs);
    w.sent(theirs, id, progress(json!("theirs"), 10.0));
}

/// The exchange of the call in [`cut_and_resumed`] (the initialize is 1).
const CUT_CALL: u64 = 2;

/// A call whose progress (or, broken, whose response) also goes to a GET stream.
fn get_stream(response_on_get: bool) -> Transcript {
    let mut w = Wire::legacy();
    let get = w.request("GET", Value::Null, Headers::default());
    w.stream(get);
    let x = w.call(1, json!("tok"));
    w.sent(get, "g-1", json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "hello"}}));
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    if response_on_get {
        w.sent(get, "g-2", result(1));
    } else {
        w.sent(x, "1-2", result(1));
    }
    w.transcript()
}

fn bad(id: &str) -> Transcript {
    match id {
        "stdio.stdout_messages_only" => stdio_transcript(
            &[
                (Side::Client, INITIALIZE_LINE),
                (Side::Server, "Weather server running on stdio"),
                (Side::Server, INITIALIZED_LINE),
            ],
            &[],
        ),
        "stdio.no_embedded_newlines" => stdio_transcript(
            &[
                (Side::Client, INITIALIZE_LINE),
                (Side::Server, "{\"jsonrpc\": \"2.0\","),
                (
                    Side::Server,
                    "  \"id\": 0, \"result\": {\"protocolVersion\": \"2025-11-25\", \"capabilities\": {}, \"serverInfo\": {\"name\": \"s\", \"version\": \"0\"}}}",
                ),
            ],
            &[],
        ),
        "stdio.exits_on_stdin_close" => stdio_transcript(
            &[(Side::Client, INITIALIZE_LINE)],
            &[
                ProcessEvent::StdinClosed,
                ProcessEvent::Sigterm,
                ProcessEvent::Exited,
            ],
        ),
        "stream.get_no_response" => get_stream(true),
        "jsonrpc.well_formed" => {
            let mut w = clean_call();
            let x = w.call(2, json!("t2"));
            w.sent(x, "2-1", json!({"jsonrpc": "1.0", "id": 2}));
            w.transcript()
        }
        "progress.token_known" => {
            let mut w = clean_call();
            let x = w.call(2, json!("t2"));
            w.sent(x, "2-1", progress(json!("someone-else"), 1.0));
            w.transcript()
        }
        "progress.increasing" => {
            let mut w = Wire::legacy();
            let x = w.call(1, json!(7));
            w.sent(x, "1-1", progress(json!(7), 50.0));
            w.sent(x, "1-2", progress(json!(7), 50.0));
            w.sent(x, "1-3", result(1));
            w.transcript()
        }
        "progress.not_after_response" => {
            let mut w = Wire::legacy();
            let x = w.call(1, json!("tok"));
            w.sent(x, "1-1", result(1));
            w.sent(x, "1-2", progress(json!("tok"), 100.0));
            w.transcript()
        }
        "stream.no_duplicate_event" => cut_and_resumed(&[
            ("1-1", progress(json!("tok"), 0.0)),
            ("1-2", progress(json!("tok"), 50.0)),
            ("1-3", result(1)),
        ])
        .transcript(),
        "stream.no_duplicate_message" => cut_and_resumed(&[
            ("1-2", progress(json!("tok"), 50.0)),
            ("1-3", result(1)),
            ("1-4", result(1)),
        ])
        .transcript(),
        "stream.replay_same_stream_only" => {
            let mut w = cut_and_resumed(&[]);
            let other = w.call(2, json!("other"));
            w.sent(other, "2-1", progress(json!("other"), 10.0));
            let r = w.resume("1-1");
            w.sent(r, "2-1", progress(json!("other"), 10.0));
            w.transcript()
        }
        "stream.event_id_unique" => {
            let mut w = clean_call();
            let x = w.call(2, json!("t2"));
            w.sent(x, "1-1", progress(json!("t2"), 5.0));
            w.transcript()
        }
        "stream.nothing_lost" => {
            // The partitioned stream's progress and response never come back.
            let mut w = cut_and_resumed(&[]);
            w.fault(Some(CUT_CALL), faults::partition());
            w.transcript()
        }
        "stream.response_after_resume" => {
            // Resumed as asked, the rest replayed, but never the response.
            let mut w = cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0))]);
            w.fault(Some(CUT_CALL), faults::cut());
            w.transcript()
        }
        "stream.replay_after_last_event_id" => cut_and_resumed(&[
            ("1-1", progress(json!("tok"), 0.0)),
            ("1-2", progress(json!("tok"), 50.0)),
            ("1-3", result(1)),
        ])
        .transcript(),
        "stream.replay_own_session_only" => {
            let mut w = cut_and_resumed(&[]);
            other_session_progress(&mut w, "9-1");
            let r = w.resume("1-1");
            w.sent(r, "9-1", progress(json!("theirs"), 10.0));
            w.transcript()
        }
        "stream.request_scoped_on_own_stream" => progress_on_get_stream(),
        "stream.closed_after_response" => resumed_and_left_open(600).transcript(),
        "load.refusals" => {
            let mut w = clean_call();
            let x = w.call(2, json!("t2"));
            let _ = x;
            let refused = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "x"}}),
                Headers::default(),
            );
            w.status(refused, 503);
            w.transcript()
        }
        "response.exactly_once" => {
            // The server ends the stream normally but never answers.
            let mut w = Wire::legacy();
            let x = w.call(1, json!("tok"));
            priming(&mut w, x, "1-0");
            w.sent(x, "1-1", progress(json!("tok"), 0.0));
            w.end(x, EndReason::Complete);
            w.transcript()
        }
        "sse.priming_event" => {
            let mut w = Wire::legacy();
            let x = w.call(1, json!("tok"));
            w.sent(x, "1-1", result(1));
            w.transcript()
        }
        "session.id_visible_ascii" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {}}),
                Headers::default(),
            );
            w.push(WireEvent::Response {
                exchange: x,
                status: 200,
                headers: Box::new(Headers {
                    mcp_session_id: Some("bad id\n".into()),
                    ..Headers::default()
                }),
                body: Body::Empty,
                delivery: Delivery::Delivered,
            });
            w.transcript()
        }
        "session.missing_id_400" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers::default(),
            );
            fix_no_session(&mut w, x);
            w.status(x, 200);
            w.transcript()
        }
        "session.unknown_id_404" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    mcp_session_id: Some("forged".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 400);
            w.transcript()
        }
        "version.invalid_header_400" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    mcp_protocol_version: Some("1999-01-01".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 200);
            w.transcript()
        }
        "security.origin_403" => {
            let mut w = Wire::legacy();
            let x = w.request(
                "POST",
                json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
                Headers {
                    origin: Some("https://evil.example".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 200);
            w.transcript()
        }
        "auth.invalid_token_401" => invalid_token_answered(200, true),
        "elicitation.only_if_declared" => elicit(json!({}), flat_schema()).transcript(),
        "schema.server_messages" => {
            let mut w = Wire::legacy();
            let x = w.call(1, json!("tok"));
            w.sent(
                x,
                "1-1",
                json!({"jsonrpc": "2.0", "id": 1, "result": {"content": "not a list"}}),
            );
            w.transcript()
        }
        "logging.only_when_requested" => {
            modern_call(None, json!({"resultType": "complete", "content": []})).transcript()
        }
        "result.result_type" => modern_call(Some("info"), json!({"content": []})).transcript(),
        "elicitation.requested_schema" => elicit(
            json!({"elicitation": {}}),
            json!({"type": "object", "properties": {"trip": {"type": "object", "properties": {}}}}),
        )
        .transcript(),
        "resources.not_found_code" => read_missing(Wire::legacy(), not_found(-32602)),
        "stream.not_resumable" => modern_resume(Some(progress(json!("tok"), 25.0))),
        "sampling.only_if_declared" => sample(json!({})).transcript(),
        "logging.only_if_declared" => log(json!({})).transcript(),
        "logging.no_internal_details" => {
            let mut w = log(json!({"logging": {}}));
            w.sent(1, "1-2", json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "error", "data": {"error": "step failed", "trace": "Traceback (most recent call last):\n  File \"/srv/agent/tools.py\", line 42, in run\nKeyError: 'price'"}}}));
            w.transcript()
        }
        "tasks.legal_transitions" => tasks(&["working", "completed", "working"]).transcript(),
        "tools.schemas_valid" => {
            let mut page = tools_page(&["a"], None);
            page["tools"][0]["inputSchema"]["properties"] = json!({"when": {"type": 12}});
            exchanges(Wire::legacy(), &[("tools/list", json!({}), page)])
        }
        "tools.names_unique" => exchanges(
            Wire::legacy(),
            &[
                ("tools/list", json!({}), tools_page(&["a", "b"], Some("p2"))),
                (
                    "tools/list",
                    json!({"cursor": "p2"}),
                    tools_page(&["a"], None),
                ),
            ],
        ),
        "tools.name_characters" => exchanges(
            Wire::legacy(),
            &[("tools/list", json!({}), tools_page(&["book a trip!"], None))],
        ),
        "tools.deterministic_order" => exchanges(
            modern(),
            &[
                ("tools/list", json!({}), tools_page(&["a", "b"], None)),
                ("tools/list", json!({}), tools_page(&["b", "a"], None)),
            ],
        ),
        "pagination.cursors_stable" => exchanges(
            Wire::legacy(),
            &[
                (
                    "prompts/list",
                    json!({}),
                    json!({"prompts": [], "nextCursor": "p2"}),
                ),
                (
                    "prompts/list",
                    json!({"cursor": "p2"}),
                    json!({"error": {"code": -32602, "message": "invalid cursor"}}),
                ),
            ],
        ),
        "pagination.invalid_cursor_32602" => exchanges(
            Wire::legacy(),
            &[(
                "tools/list",
                json!({"cursor": mcp_harness_checks::INVALID_CURSOR}),
                tools_page(&["a"], None),
            )],
        ),
        "security.binds_localhost" => listening(&["127.0.0.1:8080", "[::]:8080"]),
        "jsonrpc.method_not_found" => exchanges(
            Wire::legacy(),
            &[(
                mcp_harness_checks::UNKNOWN_METHOD,
                json!({}),
                json!({"error": {"code": -32602, "message": "Invalid request parameters"}}),
            )],
        ),
        "jsonrpc.error_id_null" => raw_post_answered(
            "{\"hello\": \"world\"}",
            400,
            json!({"jsonrpc": "2.0", "id": 0, "error": {"code": -32600, "message": "Invalid Request"}}),
        ),
        "ping.empty_result" => exchanges(
            Wire::legacy(),
            &[("ping", json!({}), json!({"pong": true}))],
        ),
        "completion.at_most_100" => exchanges(
            Wire::legacy(),
            &[(
                "completion/complete",
                json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}}),
                json!({"completion": {"values": vec!["v"; 101]}}),
            )],
        ),
        "discover.answered" => modern_answered(
            "server/discover",
            json!({"_meta": meta_of("2026-07-28")}),
            json!({"resultType": "complete", "capabilities": {}}),
            200,
        ),
        "version.unsupported_error" => modern_answered(
            "server/discover",
            json!({"_meta": meta_of("1900-01-01")}),
            json!({"error": {"code": -32602, "message": "bad version"}}),
            400,
        ),
        "meta.required_fields" => modern_answered(
            "tools/list",
            json!({}),
            json!({"resultType": "complete", "tools": []}),
            200,
        ),
        "mrtr.supported_requests_only" => {
            exchanges(modern(), &[("tools/list", json!({}), asks(&["a"], "s1"))])
        }
        "mrtr.input_required_well_formed" => rounds(&[
            (call(json!({})), json!({"resultType": "input_required"})),
            (
                call(json!({})),
                json!({"resultType": "input_required", "inputRequests": {"p": {"method": "ping"}}}),
            ),
        ]),
        "mrtr.tampered_state_rejected" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"a": accepted()}, "requestState": "s1-tampered"})),
                done(),
            ),
        ]),
        "mrtr.missing_input_rerequested" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"wrong": accepted()}, "requestState": "s1"})),
                json!({"error": {"code": -32602, "message": "missing a"}}),
            ),
        ]),
        "mrtr.extra_input_ignored" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(
                    json!({"inputResponses": {"a": accepted(), "x": accepted()}, "requestState": "s1"}),
                ),
                json!({"error": {"code": -32602, "message": "unknown key x"}}),
            ),
        ]),
        "mrtr.invalid_input_refused" => rounds(&[
            (call(json!({})), asks(&["a"], "s1")),
            (
                call(json!({"inputResponses": {"a": 12345}, "requestState": "s1"})),
                done(),
            ),
        ]),
        "roots.only_if_declared" => rounds(&[(call(json!({})), asks_roots())]),
        "meta.server_info" => exchanges(
            modern_named(),
            &[(
                "tools/list",
                json!({}),
                json!({"resultType": "complete", "tools": [], "_meta": {"io.modelcontextprotocol/serverInfo": "s"}}),
            )],
        ),
        "headers.mismatch_refused" => {
            mismatched(200, json!({"resultType": "complete", "tools": []}))
        }
        "tasks.only_if_declared" => task_exchanges(&[(
            "tools/call",
            json!({"name": "t"}),
            json!({"resultType": "task", "taskId": "t9", "status": "working"}),
        )]),
        "tasks.get_detailed" => task_exchanges(&[(
            "tasks/get",
            with_tasks(json!({"taskId": "t9"})),
            json!({"resultType": "complete", "taskId": "t9", "status": "completed"}),
        )]),
        "tasks.empty_acknowledgement" => task_exchanges(&[(
            "tasks/cancel",
            with_tasks(json!({"taskId": "t9"})),
            json!({"resultType": "complete", "taskId": "t9", "status": "cancelled"}),
        )]),
        "tasks.unknown_id_32602" => task_exchanges(&[(
            "tasks/get",
            with_tasks(json!({"taskId": "nope"})),
            json!({"resultType": "complete", "taskId": "nope", "status": "working"}),
        )]),
        "tasks.unknown_id_refused" => task_exchanges(&[(
            "tasks/cancel",
            with_tasks(json!({"taskId": "nope"})),
            json!({"resultType": "complete"}),
        )]),
        "tasks.capability_required" => task_exchanges(&[(
            "tasks/get",
            json!({"taskId": "nope"}),
            json!({"error": {"code": -32602, "message": "unknown task"}}),
        )]),
        "subscriptions.acknowledged_first" => listen_stream(&[
            note("notifications/resources/list_changed", json!({}), Some(20)),
            acknowledgement(Some(20)),
        ]),
        "subscriptions.tagged" => listen_stream(&[
            acknowledgement(Some(20)),
            note("notifications/resources/list_changed", json!({}), None),
        ]),
        "subscriptions.only_requested" => listen_stream(&[
            acknowledgement(Some(20)),
            note("notifications/tools/list_changed", json!({}), Some(20)),
            note(
                "notifications/progress",
                json!({"progressToken": "t", "progress": 1}),
                Some(20),
            ),
        ]),
        "tasks.issued_resolves" => task_exchanges(&[
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "t9", "status": "working", "ttlMs": null}),
            ),
            (
                "tasks/get",
                with_tasks(json!({"taskId": "t9"})),
                json!({"error": {"code": -32602, "message": "unknown task `t9`"}}),
            ),
        ]),
        "tasks.owner_only" => owned_task(json!({"resultType": "complete"})),
        "tasks.id_unguessable" => task_exchanges(&[
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "task-0000000000000001", "status": "working"}),
            ),
            (
                "tools/call",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "task-0000000000000002", "status": "working"}),
            ),
        ]),
        "cache.hints" => exchanges(
            modern(),
            &[(
                "prompts/list",
                json!({}),
                json!({"resultType": "complete", "prompts": [], "ttlMs": -1, "cacheScope": "everyone"}),
            )],
        ),
        other => panic!("no failing fixture for {other}"),
    }
}

/// A 2026-07-28 `tools/list` POSTed with `Mcp-Method: tools/call` (and an
/// otherwise valid request), answered with `status` and `answer`; and a
/// well-labelled request beside it that no one judges.
/// A clean call to a server the harness started, listening on `addresses`.
/// A run with its own token (when `protected`), then a request with a token
/// no authorization server issued, answered `status`.
fn invalid_token_answered(status: u16, protected: bool) -> Transcript {
    use mcp_harness_wire::credential::{INVALID_BEARER_TOKEN, fingerprint};
    let mut w = Wire::legacy();
    if protected {
        let own = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            Headers {
                authorization: Some(fingerprint("Bearer the-run-s-own-token")),
                ..Headers::default()
            },
        );
        w.status(own, 200);
    }
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
        Headers {
            authorization: Some(fingerprint(&format!("Bearer {INVALID_BEARER_TOKEN}"))),
            ..Headers::default()
        },
    );
    w.status(x, status);
    w.transcript()
}

/// A server that needs no credential is outside the authorization spec: an
/// invalid token it ignores, in a run that carries none, is not judged.
#[test]
fn an_invalid_token_is_judged_only_in_a_run_with_credentials() {
    assert_eq!(
        outcome_of(
            "auth.invalid_token_401",
            &invalid_token_answered(200, false)
        ),
        Outcome::NotObserved
    );
}

fn listening(addresses: &[&str]) -> Transcript {
    let mut w = clean_call();
    w.push(WireEvent::Listening {
        addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
    });
    w.transcript()
}

fn mismatched(status: u16, answer: Value) -> Transcript {
    let mut w = modern();
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    for (id, header) in [(8, "tools/list"), (9, "tools/call")] {
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {"_meta": meta}}),
            Headers {
                mcp_protocol_version: Some("2026-07-28".into()),
                mcp_method: Some(header.into()),
                ..Headers::default()
            },
        );
        let (status, answer) = match header {
            "tools/list" => (200, json!({"resultType": "complete", "tools": []})),
            _ => (status, answer.clone()),
        };
        let body = match answer.get("error") {
            Some(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
            None => json!({"jsonrpc": "2.0", "id": id, "result": answer}),
        };
        w.push(WireEvent::Response {
            exchange: x,
            status,
            headers: Box::default(),
            body: Body::from_json(&body),
            delivery: Delivery::Delivered,
        });
    }
    w.transcript()
}

/// A notification `method` with `params`, tagged with subscription `id`.
fn note(method: &str, mut params: Value, id: Option<u64>) -> Value {
    if let Some(id) = id {
        params["_meta"] = json!({"io.modelcontextprotocol/subscriptionId": id});
    }
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

/// The acknowledgement of a listen stream that asked for resource list changes.
fn acknowledgement(id: Option<u64>) -> Value {
    note(
        "notifications/subscriptions/acknowledged",
        json!({"notifications": {"resourcesListChanged": true}}),
        id,
    )
}

/// A 2026-07-28 `subscriptions/listen` (id 20, resource list changes) whose
/// stream carries `messages`.
fn listen_stream(messages: &[Value]) -> Transcript {
    let mut w = modern();
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 20, "method": "subscriptions/listen", "params": {
            "notifications": {"resourcesListChanged": true},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
        }}),
        Headers::default(),
    );
    w.stream(x);
    for message in messages {
        w.event(x, None, Some(message.clone()), Delivery::Delivered);
    }
    w.end(x, EndReason::ClientGone);
    w.transcript()
}

/// `params` with a `_meta` that declares the tasks extension.
fn with_tasks(mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}
    });
    params
}

/// A 2026-07-28 transcript with a server that declares tasks, then `calls`.
/// A task created with one credential and polled with it, then cancelled
/// with another credential, answered with `foreign_answer`.
fn owned_task(foreign_answer: Value) -> Transcript {
    credentialed_exchanges(
        tasks(&[]),
        &[
            (
                "tools/call",
                "Bearer owner",
                with_tasks(json!({"name": "t"})),
                json!({"resultType": "task", "taskId": "a714a828eed2447eae00f66c6858b1de", "status": "working"}),
            ),
            (
                "tasks/get",
                "Bearer owner",
                with_tasks(json!({"taskId": "a714a828eed2447eae00f66c6858b1de"})),
                json!({"resultType": "complete", "taskId": "a714a828eed2447eae00f66c6858b1de", "status": "working"}),
            ),
            (
                "tasks/cancel",
                "Bearer intruder",
                with_tasks(json!({"taskId": "a714a828eed2447eae00f66c6858b1de"})),
                foreign_answer,
            ),
        ],
    )
}

fn task_exchanges(calls: &[(&str, Value, Value)]) -> Transcript {
    exchanges(tasks(&[]), calls)
}

/// `tools/call` params of one tool with `extra` params merged in.
fn call(extra: Value) -> Value {
    let mut params = json!({"name": "t", "arguments": {}});
    if let (Some(p), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(extra.clone());
    }
    params
}

/// An InputRequiredResult asking an elicitation under each of `keys`, with `state`.
fn asks(keys: &[&str], state: &str) -> Value {
    let requests: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| {
            let request = json!({"method": "elicitation/create", "params": {"mode": "form", "message": "?", "requestedSchema": {"type": "object", "properties": {}}}});
            ((*k).to_owned(), request)
        })
        .collect();
    json!({"resultType": "input_required", "inputRequests": requests, "requestState": state})
}

/// An InputRequiredResult asking for the client's roots.
fn asks_roots() -> Value {
    json!({"resultType": "input_required", "inputRequests": {"folder": {"method": "roots/list"}}})
}

fn accepted() -> Value {
    json!({"action": "accept", "content": {}})
}

fn done() -> Value {
    json!({"resultType": "complete", "content": [{"type": "text", "text": "done"}]})
}

/// A 2026-07-28 transcript of `tools/call` rounds: params and answer each.
fn rounds(steps: &[(Value, Value)]) -> Transcript {
    let calls: Vec<(&str, Value, Value)> = steps
        .iter()
        .map(|(params, answer)| ("tools/call", params.clone(), answer.clone()))
        .collect();
    exchanges(modern(), &calls)
}

#[test]
fn every_check_passes_its_good_fixture_and_fails_its_bad_one() {
    for check in catalog() {
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
            mcp_harness_checks::Level::Must => Outcome::Fail,
            mcp_harness_checks::Level::Should => Outcome::Warn,
        };
        assert_eq!(
            failing.outcome, expected,
            "{} must catch its fixture (examined {})",
            check.id, failing.examined
        );
        assert!(
            failing.findings.iter().all(|f| f.seq.is_some()),
            "{}: findings point into the transcript",
            check.id
        );
    }
}

#[test]
fn unexercised_rules_are_not_observed_and_wrong_versions_are_skipped() {
    let empty = Wire::legacy().transcript();
    let analysis = Analysis::of(&empty);
    let progress = catalog()
        .iter()
        .find(|c| c.id == "progress.increasing")
        .unwrap();
    assert_eq!(judge_one(progress, &analysis).outcome, Outcome::NotObserved);
    let tasks = catalog()
        .iter()
        .find(|c| c.id == "tasks.legal_transitions")
        .unwrap();
    assert!(
        matches!(judge_one(tasks, &analysis).outcome, Outcome::Skipped(_)),
        "no tasks in 2025-11-25"
    );
    let priming = catalog()
        .iter()
        .find(|c| c.id == "sse.priming_event")
        .unwrap();
    let old = Wire::session("2025-06-18", json!({}), json!({})).transcript();
    assert!(
        matches!(
            judge_one(priming, &Analysis::of(&old)).outcome,
            Outcome::Skipped(_)
        ),
        "SSE priming is a 2025-11-25 rule"
    );
}

#[test]
fn verdicts_cite_the_version_judged() {
    let verdicts = mcp_harness_checks::judge(&clean_call().transcript());
    assert!(
        verdicts
            .iter()
            .all(|v| v.version == "2025-11-25"
                && v.citation.starts_with("specification/2025-11-25/"))
    );
    let ids: std::collections::BTreeSet<_> = verdicts.iter().map(|v| v.check.clone()).collect();
    assert_eq!(ids.len(), catalog().len(), "ids are unique");
}

fn outcome_of(id: &str, transcript: &Transcript) -> Outcome {
    let check = catalog().iter().find(|c| c.id == id).unwrap();
    judge_one(check, &Analysis::of(transcript)).outcome
}

/// A 401 or 403 answered with an OAuth error object (RFC 6750) is the
/// authorization layer's answer, not an MCP message; the same body in a 200,
/// or a 403 whose body claims JSON-RPC and breaks it, is judged.
#[test]
fn an_oauth_error_body_on_a_401_is_not_a_malformed_message() {
    let answered = |status: u16, body: Value| {
        let mut w = clean_call();
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            Headers::default(),
        );
        w.push(WireEvent::Response {
            exchange: x,
            status,
            headers: Box::default(),
            body: Body::from_json(&body),
            delivery: Delivery::Delivered,
        });
        outcome_of("jsonrpc.well_formed", &w.transcript())
    };
    let oauth = json!({"error": "invalid_token", "error_description": "needs a token"});
    assert_eq!(answered(401, oauth.clone()), Outcome::Pass);
    assert_eq!(answered(403, oauth.clone()), Outcome::Pass);
    assert_eq!(answered(200, oauth), Outcome::Fail);
    assert_eq!(
        answered(403, json!({"jsonrpc": "1.0", "error": {"code": -32600}})),
        Outcome::Fail
    );
}

#[test]
fn event_data_that_is_not_json_is_malformed() {
    let mut w = clean_call();
    let x = w.call(2, json!("t2"));
    w.push(WireEvent::Sse {
        exchange: x,
        index: 1,
        id: Some("2-1".into()),
        event: None,
        retry_ms: None,
        data: Some(Body::from_bytes(b"this is not json", 1 << 20)),
        delivery: Delivery::Delivered,
    });
    assert_eq!(
        outcome_of("jsonrpc.well_formed", &w.transcript()),
        Outcome::Fail
    );
    // Data too large to record is not judged as malformed.
    let mut w = clean_call();
    let x = w.call(2, json!("t2"));
    w.push(WireEvent::Sse {
        exchange: x,
        index: 1,
        id: Some("2-1".into()),
        event: None,
        retry_ms: None,
        data: Some(Body::Truncated { bytes: 1 << 30 }),
        delivery: Delivery::Delivered,
    });
    assert_eq!(
        outcome_of("jsonrpc.well_formed", &w.transcript()),
        Outcome::Pass
    );
}

#[test]
fn progress_resumed_on_a_get_stream_is_attributed_to_its_request() {
    // Two calls share a token, each is cut and resumed on a GET stream. The
    // second call's progress (10) is lower than the first's (50) but belongs to
    // another request, so nothing decreased.
    let mut w = Wire::legacy();
    for (id, value) in [(1u64, 50.0), (2, 10.0)] {
        let x = w.call(id, json!("tok"));
        w.sent(x, &format!("{id}-1"), progress(json!("tok"), value - 5.0));
        w.event(
            x,
            Some(&format!("{id}-2")),
            Some(progress(json!("tok"), value)),
            Delivery::Withheld,
        );
        w.end(x, EndReason::Cut);
        let r = w.resume(&format!("{id}-1"));
        w.sent(r, &format!("{id}-2"), progress(json!("tok"), value));
        w.sent(r, &format!("{id}-3"), result(id));
        w.end(r, EndReason::Complete);
    }
    assert_eq!(
        outcome_of("progress.increasing", &w.transcript()),
        Outcome::Pass
    );
}

#[test]
fn a_response_the_proxy_withheld_is_not_a_missing_response() {
    let mut w = Wire::legacy();
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
        Headers::default(),
    );
    w.push(WireEvent::Response {
        exchange: x,
        status: 200,
        headers: Box::default(),
        body: Body::from_json(&json!({"jsonrpc": "2.0", "id": 5, "result": {"tools": []}})),
        delivery: Delivery::Withheld,
    });
    assert_ne!(
        outcome_of("response.exactly_once", &w.transcript()),
        Outcome::Fail
    );
}

#[test]
fn garbage_protocol_versions_are_not_the_modern_era() {
    assert!(mcp_harness_checks::is_modern_version("2026-07-28"));
    assert!(mcp_harness_checks::is_modern_version("2027-01-01"));
    assert!(!mcp_harness_checks::is_modern_version("2025-11-25"));
    assert!(!mcp_harness_checks::is_modern_version("zzz"));
    assert!(!mcp_harness_checks::is_modern_version("9999"));
}

#[test]
fn an_event_first_seen_on_an_earlier_resume_is_of_the_same_stream() {
    // Found by `mcp-harness explore`: the call is cut, the first resume is cut
    // too (its event 1-3 withheld there, first seen there), and the second resume
    // from the same id replays 1-2 and 1-3. That is one logical stream.
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    w.event(
        x,
        Some("1-2"),
        Some(progress(json!("tok"), 20.0)),
        Delivery::Withheld,
    );
    w.end(x, EndReason::Cut);
    let first = w.resume("1-1");
    w.event(
        first,
        Some("1-2"),
        Some(progress(json!("tok"), 20.0)),
        Delivery::Withheld,
    );
    w.event(first, Some("1-3"), Some(result(1)), Delivery::Withheld);
    w.end(first, EndReason::Cut);
    let second = w.resume("1-1");
    w.sent(second, "1-2", progress(json!("tok"), 20.0));
    w.sent(second, "1-3", result(1));
    w.end(second, EndReason::Complete);
    assert_eq!(
        outcome_of("stream.replay_same_stream_only", &w.transcript()),
        Outcome::Pass
    );
}

#[test]
fn a_resume_with_an_unknown_id_that_replays_a_stream_fails() {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.event(
        x,
        Some("1-1"),
        Some(progress(json!("tok"), 10.0)),
        Delivery::Withheld,
    );
    w.event(x, Some("1-2"), Some(result(1)), Delivery::Withheld);
    w.end(x, EndReason::Cut);
    let r = w.resume("999-999");
    w.sent(r, "1-1", progress(json!("tok"), 10.0));
    w.sent(r, "1-2", result(1));
    w.end(r, EndReason::Complete);
    assert_eq!(
        outcome_of("stream.replay_same_stream_only", &w.transcript()),
        Outcome::Fail
    );
    // Replaying nothing for it is right.
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", result(1));
    w.end(x, EndReason::Complete);
    let r = w.resume("999-999");
    w.end(r, EndReason::Complete);
    assert_ne!(
        outcome_of("stream.replay_same_stream_only", &w.transcript()),
        Outcome::Fail
    );
}

// Edges found by cargo-mutants: each pins a decision a mutant could flip.

#[test]
fn tallies_count_each_outcome_and_merge() {
    use mcp_harness_checks::Tally;
    let outcomes = [
        Outcome::Pass,
        Outcome::NotObserved,
        Outcome::Warn,
        Outcome::Fail,
        Outcome::Skipped("x".into()),
        Outcome::Unknown("y".into()),
    ];
    let mut tally = Tally::default();
    for (n, outcome) in outcomes.iter().enumerate() {
        for _ in 0..=n {
            tally.add(outcome);
        }
    }
    let mut total = Tally::default();
    total.merge(&tally);
    total.merge(&tally);
    assert_eq!(
        [
            total.pass,
            total.not_observed,
            total.warn,
            total.fail,
            total.skipped,
            total.unknown
        ],
        [2, 4, 6, 8, 10, 12]
    );
    let names: Vec<&str> = outcomes.iter().map(Outcome::name).collect();
    assert_eq!(
        names,
        ["pass", "not observed", "warn", "fail", "skipped", "unknown"]
    );
}

/// A call whose server died before answering; `killed` says whether the
/// harness recorded the kill.
fn answerless_call(killed: bool) -> Transcript {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    if killed {
        w.fault(None, faults::kill());
    }
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    w.end(x, EndReason::UpstreamError);
    w.transcript()
}

#[test]
fn a_response_missing_because_the_harness_killed_the_server_is_excused() {
    assert_ne!(
        outcome_of("response.exactly_once", &answerless_call(true)),
        Outcome::Fail
    );
    assert_eq!(
        outcome_of("response.exactly_once", &answerless_call(false)),
        Outcome::Fail
    );
    assert_eq!(Analysis::of(&answerless_call(true)).kills.len(), 1);
    assert!(Analysis::of(&answerless_call(false)).kills.is_empty());
}

#[test]
fn the_same_event_id_in_two_sessions_is_not_a_duplicate() {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    let other = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "travel_agent", "_meta": {"progressToken": "tok"}}}),
        Headers {
            mcp_session_id: Some("s-2".into()),
            ..Headers::default()
        },
    );
    w.stream(other);
    w.sent(other, "1-1", progress(json!("tok"), 10.0));
    let two_sessions = w.transcript();
    assert_eq!(
        outcome_of("stream.no_duplicate_event", &two_sessions),
        Outcome::Pass
    );
    assert_eq!(
        outcome_of("stream.event_id_unique", &two_sessions),
        Outcome::Pass
    );
    let analysis = Analysis::of(&two_sessions);
    let sessions: Vec<Option<&str>> = analysis.exchanges.iter().map(|x| x.session()).collect();
    // The initialize exchange takes its session from the response header.
    assert_eq!(sessions, [Some("s-1"), Some("s-1"), Some("s-2")]);
    // In one session, the same event (id and content) twice is a duplicate.
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    let again = w.call(2, json!("tok2"));
    w.sent(again, "1-1", progress(json!("tok"), 10.0));
    let transcript = w.transcript();
    assert_eq!(
        outcome_of("stream.no_duplicate_event", &transcript),
        Outcome::Fail
    );
    // The same id on the same content on two streams is one event, not a reused id.
    assert_eq!(
        outcome_of("stream.event_id_unique", &transcript),
        Outcome::Pass
    );
}

#[test]
fn the_era_follows_the_negotiated_version() {
    assert!(Analysis::of(&tasks(&["working"]).transcript()).is_modern());
    assert!(!Analysis::of(&clean_call().transcript()).is_modern());
    assert_eq!(
        Analysis::of(&clean_call().transcript()).version,
        "2025-11-25"
    );
}

#[test]
fn json_rpc_shapes_that_are_not_messages_fail() {
    for (bad, why) in [
        (
            json!({"jsonrpc": "2.0", "id": 2, "result": {}, "error": {"code": 1, "message": "x"}}),
            "both result and error",
        ),
        (
            json!({"jsonrpc": "2.0", "id": 2}),
            "neither result nor error",
        ),
        (
            json!({"jsonrpc": "2.0", "method": 7}),
            "a method that is not a string",
        ),
        (json!({"id": 2, "result": {}}), "no jsonrpc member"),
    ] {
        let mut w = clean_call();
        let x = w.call(2, json!("t2"));
        w.sent(x, "2-1", bad);
        assert_eq!(
            outcome_of("jsonrpc.well_formed", &w.transcript()),
            Outcome::Fail,
            "{why}"
        );
    }
    let mut w = clean_call();
    let x = w.call(2, json!("t2"));
    let huge = "x".repeat(1000);
    w.sent(x, "2-1", json!({"jsonrpc": "1.0", "method": huge}));
    let check = catalog()
        .iter()
        .find(|c| c.id == "jsonrpc.well_formed")
        .unwrap();
    let verdict = judge_one(check, &Analysis::of(&w.transcript()));
    let observed = &verdict.findings[0].observed;
    assert!(
        observed.len() < 200 && observed.ends_with("..."),
        "{observed}"
    );
}

#[test]
fn local_origins_are_not_foreign() {
    for (origin, status, outcome) in [
        ("http://localhost:3000", 200, Outcome::NotObserved),
        ("http://127.0.0.1", 200, Outcome::NotObserved),
        ("http://[::1]:8080/app", 200, Outcome::NotObserved),
        ("http://localhost.evil.example", 200, Outcome::Fail),
        ("http://localhost:80x", 200, Outcome::Fail),
        ("https://evil.example", 403, Outcome::Pass),
    ] {
        let mut w = Wire::legacy();
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
            Headers {
                origin: Some(origin.into()),
                ..Headers::default()
            },
        );
        w.status(x, status);
        assert_eq!(
            outcome_of("security.origin_403", &w.transcript()),
            outcome,
            "{origin}"
        );
    }
}

#[test]
fn a_terminated_session_must_be_404_but_its_delete_is_not_judged() {
    for (after_delete, outcome) in [(404, Outcome::Pass), (200, Outcome::Fail)] {
        let mut w = Wire::legacy();
        let delete = w.request("DELETE", Value::Null, Headers::default());
        w.status(delete, 200);
        let x = w.request(
            "POST",
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
            Headers::default(),
        );
        w.status(x, after_delete);
        assert_eq!(
            outcome_of("session.unknown_id_404", &w.transcript()),
            outcome,
            "{after_delete}"
        );
    }
    // A request before the DELETE is judged by nothing.
    let mut w = Wire::legacy();
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
        Headers::default(),
    );
    w.status(x, 200);
    let delete = w.request("DELETE", Value::Null, Headers::default());
    w.status(delete, 200);
    assert_eq!(
        outcome_of("session.unknown_id_404", &w.transcript()),
        Outcome::NotObserved
    );
}

#[test]
fn priming_is_judged_on_posted_requests_only() {
    // An initialize answered on a stream, and a resumed GET stream, both start
    // with a message: neither is judged (only request streams need priming).
    let mut w = Wire::legacy();
    let init = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {}}),
        Headers::default(),
    );
    w.stream(init);
    w.sent(init, "0-1", result(7));
    let x = w.call(1, json!("tok"));
    priming(&mut w, x, "1-0");
    w.event(x, Some("1-1"), Some(result(1)), Delivery::Withheld);
    w.end(x, EndReason::Cut);
    let r = w.resume("1-0");
    w.sent(r, "1-1", result(1));
    assert_eq!(
        outcome_of("sse.priming_event", &w.transcript()),
        Outcome::Pass
    );
}

#[test]
fn only_log_messages_need_the_logging_capability() {
    let mut w = Wire::session("2025-06-18", json!({}), json!({"tools": {}}));
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 1.0));
    w.sent(x, "1-2", result(1));
    assert_eq!(
        outcome_of("logging.only_if_declared", &w.transcript()),
        Outcome::NotObserved
    );
}

#[test]
fn enum_properties_are_flat() {
    let schema = json!({"type": "object", "properties": {"seat": {"type": "string", "enum": ["aisle", "window"]}, "count": {"type": "integer", "minimum": 1}}});
    assert_eq!(
        outcome_of(
            "elicitation.requested_schema",
            &elicit(json!({"elicitation": {}}), schema).transcript()
        ),
        Outcome::Pass
    );
}

/// Judge `check` on `transcript`.
fn verdict_of(check: &str, transcript: &Transcript) -> mcp_harness_checks::Verdict {
    let check = catalog().iter().find(|c| c.id == check).unwrap();
    judge_one(check, &Analysis::of(transcript))
}

/// An elicitation under `version` asking for a multi-select enum.
fn multi_select_under(version: &str) -> Transcript {
    let mut w = Wire::session(version, json!({"elicitation": {}}), json!({"tools": {}}));
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": {"message": "Seats?", "requestedSchema": multi_select_schema()}}));
    w.transcript()
}

#[test]
fn a_multi_select_enum_passes_under_2025_11_25_and_fails_under_2025_06_18() {
    for check in ["elicitation.requested_schema", "schema.server_messages"] {
        let new = verdict_of(check, &multi_select_under("2025-11-25"));
        assert_eq!(new.outcome, Outcome::Pass, "{check}: {:?}", new.findings);
        let old = verdict_of(check, &multi_select_under("2025-06-18"));
        assert_eq!(old.outcome, Outcome::Fail, "{check}");
        assert!(
            old.findings[0]
                .observed
                .starts_with("ElicitRequest /params/requestedSchema/properties/seats"),
            "{check}: {:?}",
            old.findings
        );
    }
    // Before 2025-06-18 there is no elicitation to judge.
    assert!(matches!(
        verdict_of(
            "elicitation.requested_schema",
            &multi_select_under("2025-03-26")
        )
        .outcome,
        Outcome::Skipped(_)
    ));
}

#[test]
fn a_stream_without_a_priming_event_is_warned_only_before_2026_07_28() {
    let unprimed = |version: &str| {
        let mut w = Wire::session(version, json!({}), json!({"tools": {}}));
        let x = w.call(1, json!("tok"));
        w.sent(x, "1-1", result(1));
        w.end(x, EndReason::Complete);
        w.transcript()
    };
    assert_eq!(
        verdict_of("sse.priming_event", &unprimed("2025-11-25")).outcome,
        Outcome::Warn
    );
    let modern = verdict_of("sse.priming_event", &unprimed("2026-07-28"));
    assert_eq!(
        modern.outcome,
        Outcome::Skipped("no such rule in 2026-07-28".into())
    );
}

#[test]
fn a_result_without_result_type_fails_only_under_2026_07_28() {
    let bare = |version: &str| {
        let mut w = Wire::session(version, json!({}), json!({"tools": {}}));
        let x = w.call(1, json!("tok"));
        w.sent(x, "1-1", result(1));
        w.transcript()
    };
    assert_eq!(
        verdict_of("result.result_type", &bare("2025-11-25")).outcome,
        Outcome::Skipped("no such rule in 2025-11-25".into())
    );
    let modern = modern_call(Some("info"), json!({"content": []})).transcript();
    assert_eq!(
        verdict_of("result.result_type", &modern).outcome,
        Outcome::Fail
    );
    // The official 2026-07-28 schema requires it too.
    let schema = verdict_of("schema.server_messages", &modern);
    assert_eq!(schema.outcome, Outcome::Fail);
    assert!(
        schema
            .findings
            .iter()
            .any(|f| f.observed.contains("resultType")),
        "{:?}",
        schema.findings
    );
}

/// A 2026-07-28 call cut after its first progress, then a GET with its
/// event id, which brings back `replayed` (or is refused with 405).
fn modern_resume(replayed: Option<Value>) -> Transcript {
    let mut w = modern_call(
        Some("info"),
        json!({"resultType": "complete", "content": []}),
    );
    match replayed {
        Some(message) => {
            let x = w.resume("1-1");
            w.sent(x, "1-2", message);
            w.end(x, EndReason::Complete);
        }
        None => {
            let x = w.request(
                "GET",
                Value::Null,
                Headers {
                    last_event_id: Some("1-1".into()),
                    ..Headers::default()
                },
            );
            w.status(x, 405);
        }
    }
    w.transcript()
}

#[test]
fn a_replay_is_warned_only_from_2026_07_28() {
    let replayed = modern_resume(Some(progress(json!("tok"), 25.0)));
    let verdict = verdict_of("stream.not_resumable", &replayed);
    assert_eq!(verdict.outcome, Outcome::Warn);
    assert!(
        verdict.findings[0]
            .observed
            .contains("GET with Last-Event-ID 1-1")
    );
    // The same replay is what a legacy resume is for.
    assert_eq!(
        verdict_of(
            "stream.not_resumable",
            &cut_and_resumed(&[("1-2", progress(json!("tok"), 50.0)), ("1-3", result(1))])
                .transcript()
        )
        .outcome,
        Outcome::Skipped("no such rule in 2025-11-25".into())
    );
}

#[test]
fn the_resource_not_found_code_is_minus_32002_before_2026_07_28_and_minus_32602_from_it() {
    let legacy = |answer| read_missing(Wire::legacy(), answer);
    let modern = |answer| read_missing(modern(), answer);
    assert_eq!(
        verdict_of("resources.not_found_code", &legacy(not_found(-32002))).outcome,
        Outcome::Pass
    );
    assert_eq!(
        verdict_of("resources.not_found_code", &modern(not_found(-32602))).outcome,
        Outcome::Pass
    );
    // The same -32602 is only a SHOULD broken before 2026-07-28 ...
    assert_eq!(
        verdict_of("resources.not_found_code", &legacy(not_found(-32602))).outcome,
        Outcome::Warn
    );
    // ... and the old code is a MUST broken from it.
    let old = verdict_of("resources.not_found_code", &modern(not_found(-32002)));
    assert_eq!(old.outcome, Outcome::Fail);
    assert!(
        old.findings[0].observed.contains("-32002"),
        "{:?}",
        old.findings
    );
    // An empty contents array for a resource that does not exist is no answer.
    let empty =
        json!({"jsonrpc": "2.0", "id": 5, "result": {"resultType": "complete", "contents": []}});
    let verdict = verdict_of("resources.not_found_code", &modern(empty));
    assert_eq!(verdict.outcome, Outcome::Fail);
    assert!(verdict.findings[0].observed.contains("succeeded"));
    // A read of a real resource is not judged.
    let mut w = Wire::legacy();
    let x = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 5, "method": "resources/read", "params": {"uri": "file:///real"}}),
        mcp_harness_wire::Headers::default(),
    );
    w.status(x, 200);
    assert_eq!(
        verdict_of("resources.not_found_code", &w.transcript()).outcome,
        Outcome::NotObserved
    );
}

#[test]
fn a_log_message_without_a_requested_level_fails_only_under_2026_07_28() {
    let modern = modern_call(None, json!({"resultType": "complete", "content": []})).transcript();
    assert_eq!(
        verdict_of("logging.only_when_requested", &modern).outcome,
        Outcome::Fail
    );
    // The same message under 2025-11-25 (the level is set per session there).
    assert_eq!(
        verdict_of(
            "logging.only_when_requested",
            &log(json!({"logging": {}})).transcript()
        )
        .outcome,
        Outcome::Skipped("no such rule in 2025-06-18".into())
    );
}

#[test]
fn only_requests_of_the_kind_are_questions() {
    // A client without elicitation gets a response and a sampling question
    // inside an input_required result: no elicitation was asked of it.
    let mut w = Wire::session("2025-06-18", json!({"sampling": {}}), json!({"tools": {}}));
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "input_required", "inputRequests": {"s": {"method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 10}}}}}));
    w.sent(x, "1-2", json!({"jsonrpc": "2.0", "method": "elicitation/create", "params": {"message": "a notification, not a question"}}));
    let transcript = w.transcript();
    assert_eq!(
        outcome_of("elicitation.only_if_declared", &transcript),
        Outcome::NotObserved
    );
    assert_eq!(
        outcome_of("sampling.only_if_declared", &transcript),
        Outcome::Pass
    );
}

#[test]
fn a_question_on_the_get_stream_is_not_a_response() {
    let mut w = Wire::legacy();
    let get = w.request("GET", Value::Null, Headers::default());
    w.stream(get);
    w.sent(get, "g-1", json!({"jsonrpc": "2.0", "id": 5, "method": "elicitation/create", "params": {"message": "?", "requestedSchema": flat_schema()}}));
    w.sent(get, "g-2", json!({"jsonrpc": "2.0"}));
    assert_eq!(
        outcome_of("stream.get_no_response", &w.transcript()),
        Outcome::Pass
    );
}

#[test]
fn events_after_the_last_event_id_may_be_replayed_even_if_delivered_before() {
    // The client got 1-1 and 1-2 but says (Last-Event-ID) it only had 1-1, as a
    // host killed before it wrote 1-2 down would: replaying 1-2 is right.
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    w.sent(x, "1-2", progress(json!("tok"), 20.0));
    w.end(x, EndReason::ClientGone);
    let r = w.resume("1-1");
    w.sent(r, "1-2", progress(json!("tok"), 20.0));
    w.sent(r, "1-3", result(1));
    assert_eq!(
        outcome_of("stream.no_duplicate_event", &w.transcript()),
        Outcome::Pass
    );
    // Replaying 1-1 itself is a duplicate.
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", progress(json!("tok"), 10.0));
    w.end(x, EndReason::ClientGone);
    let r = w.resume("1-1");
    w.sent(r, "1-1", progress(json!("tok"), 10.0));
    assert_eq!(
        outcome_of("stream.no_duplicate_event", &w.transcript()),
        Outcome::Fail
    );
}

#[test]
fn a_request_the_client_gave_up_on_with_no_fault_in_its_way_was_never_answered() {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    priming(&mut w, x, "1-0");
    w.sent(x, "1-1", progress(json!("tok"), 0.0));
    w.end(x, EndReason::ClientGone);
    assert_eq!(
        outcome_of("response.exactly_once", &w.transcript()),
        Outcome::Fail
    );
}

#[test]
fn a_request_waiting_on_the_clients_silence_or_hit_by_a_fault_is_excused() {
    // The server asked, the client never answered: the server may wait.
    let mut w = elicit(json!({"elicitation": {}}), flat_schema());
    w.end(2, EndReason::ClientGone);
    assert_eq!(
        outcome_of("response.exactly_once", &w.transcript()),
        Outcome::Pass,
        "only the answered initialize is judged"
    );
    // A toxic in force before the stream ended.
    let mut w = Wire::legacy();
    w.fault(None, faults::toxic(mcp_harness_wire::ToxicType::Latency));
    let x = w.call(1, json!("tok"));
    w.end(x, EndReason::ClientGone);
    assert_eq!(
        outcome_of("response.exactly_once", &w.transcript()),
        Outcome::Pass,
        "only the answered initialize is judged"
    );
}

#[test]
fn a_resume_by_another_session_is_not_the_client_resuming() {
    let mut w = cut_and_resumed(&[]);
    w.fault(Some(CUT_CALL), faults::cut());
    // Rewrite the resume as another session's: the owner never resumed.
    for record in &mut w.records {
        if let WireEvent::Request {
            method, headers, ..
        } = &mut record.event
            && method == "GET"
        {
            headers.mcp_session_id = Some("intruder".into());
        }
    }
    assert_eq!(
        outcome_of("stream.response_after_resume", &w.transcript()),
        Outcome::NotObserved
    );
}

#[test]
fn a_notification_lost_to_a_partition_is_lost_too_but_a_cut_is_not_judged() {
    // The response comes back, the progress before it does not.
    let mut w = cut_and_resumed(&[("1-3", result(1))]);
    w.fault(Some(CUT_CALL), faults::partition());
    assert_eq!(
        outcome_of("stream.nothing_lost", &w.transcript()),
        Outcome::Warn
    );
    let mut w = cut_and_resumed(&[("1-3", result(1))]);
    w.fault(Some(CUT_CALL), faults::cut());
    assert_eq!(
        outcome_of("stream.nothing_lost", &w.transcript()),
        Outcome::NotObserved
    );
}

#[test]
fn two_sessions_may_use_the_same_event_ids_for_their_own_events() {
    // Session s-1 is cut and resumed; session s-2 numbers its events the same way.
    let mut w = cut_and_resumed(&[]);
    other_session_progress(&mut w, "1-2");
    let r = w.resume("1-1");
    w.sent(r, "1-2", progress(json!("tok"), 50.0));
    w.sent(r, "1-3", result(1));
    let t = w.transcript();
    for check in [
        "stream.replay_own_session_only",
        "stream.replay_same_stream_only",
        "stream.no_duplicate_event",
    ] {
        assert_eq!(outcome_of(check, &t), Outcome::Pass, "{check}");
    }
}

#[test]
fn an_error_id_is_judged_only_where_the_request_s_id_could_not_be_read() {
    let parse_error = |id: Value| json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32700, "message": "Parse error"}});
    // Not JSON, answered with a made-up id: fails; with no id at all: passes.
    let made_up = raw_post_answered("this is not json", 400, parse_error(json!("0")));
    assert_eq!(outcome_of("jsonrpc.error_id_null", &made_up), Outcome::Fail);
    let mut absent = parse_error(Value::Null);
    absent.as_object_mut().unwrap().remove("id");
    let absent = raw_post_answered("this is not json", 400, absent);
    assert_eq!(outcome_of("jsonrpc.error_id_null", &absent), Outcome::Pass);
    // A request whose id could be read may be answered with that id.
    let readable = raw_post_answered(
        "{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": \"tools/call\"}",
        200,
        json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32602, "message": "no name"}}),
    );
    assert_eq!(
        outcome_of("jsonrpc.error_id_null", &readable),
        Outcome::NotObserved
    );
}

#[test]
fn only_methods_the_version_does_not_define_need_minus_32601() {
    // Defined in 2025-11-25 (tasks), so an error for it is not judged.
    let defined = exchanges(
        Wire::legacy(),
        &[(
            "tasks/get",
            json!({"taskId": "t"}),
            json!({"error": {"code": -32602, "message": "unknown task"}}),
        )],
    );
    assert_eq!(
        outcome_of("jsonrpc.method_not_found", &defined),
        Outcome::NotObserved
    );
}

/// A call cut after its first progress and resumed; the resume replays the
/// rest, the response included, and stays open until the client hangs up
/// `after_ms` later.
fn resumed_and_left_open(after_ms: u64) -> Wire {
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    priming(&mut w, x, "1-0");
    w.sent(x, "1-1", progress(json!("tok"), 0.0));
    w.end(x, EndReason::Cut);
    let r = w.resume("1-1");
    w.sent(r, "1-2", progress(json!("tok"), 50.0));
    w.sent(r, "1-3", result(1));
    w.advance(after_ms);
    w.end(r, EndReason::ClientGone);
    w
}

#[test]
fn a_stream_left_open_after_its_response_is_judged_only_when_the_client_waited() {
    let id = "stream.closed_after_response";
    let left_open = verdict_of(id, &resumed_and_left_open(600).transcript());
    assert_eq!(left_open.outcome, Outcome::Warn, "{left_open:?}");
    assert!(
        left_open.findings[0]
            .observed
            .starts_with("the resumed stream (GET with Last-Event-ID 1-1) stayed open 600 ms"),
        "{left_open:?}"
    );
    // A client that left 100 ms after the response did not wait for the
    // server to close: nothing to judge.
    assert_eq!(
        outcome_of(id, &resumed_and_left_open(100).transcript()),
        Outcome::NotObserved
    );
    // A call's own stream left open is the same finding.
    let mut w = Wire::legacy();
    let x = w.call(1, json!("tok"));
    w.sent(x, "1-1", result(1));
    w.advance(500);
    w.end(x, EndReason::ClientGone);
    let call = verdict_of(id, &w.transcript());
    assert_eq!(call.outcome, Outcome::Warn, "{call:?}");
    assert!(
        call.findings[0]
            .observed
            .starts_with("the stream of request 1 (tools/call) stayed open 500 ms"),
        "{call:?}"
    );
    // A fault on the stream decides how it ends: not judged.
    let mut w = resumed_and_left_open(600);
    w.fault(Some(w.exchange), faults::stall());
    assert_eq!(outcome_of(id, &w.transcript()), Outcome::NotObserved);
    // A resume of the standalone GET stream exists for no response: a stray
    // one on it (another check's finding) does not make it a stream to close.
    let mut w = Wire::legacy();
    let get = w.request("GET", Value::Null, Headers::default());
    w.stream(get);
    w.sent(get, "g-1", json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}}));
    w.end(get, EndReason::Cut);
    let r = w.resume("g-1");
    w.sent(r, "g-2", result(9));
    w.advance(600);
    w.end(r, EndReason::ClientGone);
    assert_eq!(outcome_of(id, &w.transcript()), Outcome::NotObserved);
}

/// An elicitation the travel call waits for, sent on the standalone GET
/// stream (`on_get`) or on the call's own stream; the client answers it, and
/// the call's response comes after the answer.
fn question_the_call_waits_for(on_get: bool) -> Transcript {
    asked_during_a_call(
        on_get,
        json!({"jsonrpc": "2.0", "id": 7, "method": "elicitation/create", "params": {"message": "ok?", "requestedSchema": {"type": "object", "properties": {}}}}),
    )
}

/// `question` sent during a call (on the GET stream when `on_get`), answered
/// by the client, and the call's response after the answer.
fn asked_during_a_call(on_get: bool, question: Value) -> Transcript {
    let mut w = Wire::legacy();
    let get = w.request("GET", Value::Null, Headers::default());
    w.stream(get);
    let x = w.call(1, json!("tok"));
    w.sent(if on_get { get } else { x }, "q-1", question);
    let answer = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 7, "result": {"action": "accept", "content": {}}}),
        Headers::default(),
    );
    w.status(answer, 202);
    w.sent(x, "1-1", result(1));
    w.transcript()
}

#[test]
fn a_question_a_call_waits_for_belongs_on_the_calls_stream() {
    let id = "stream.request_scoped_on_own_stream";
    let on_get = verdict_of(id, &question_the_call_waits_for(true));
    assert_eq!(on_get.outcome, Outcome::Warn, "{on_get:?}");
    assert!(
        on_get.findings[0]
            .observed
            .contains("elicitation/create request 7 on the standalone GET stream, which request 1 (tools/call) waited for"),
        "{on_get:?}"
    );
    assert_eq!(
        outcome_of(id, &question_the_call_waits_for(false)),
        Outcome::NotObserved
    );
    // A ping on the GET stream is the session's, whenever it comes.
    let ping = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"});
    assert_eq!(
        outcome_of(id, &asked_during_a_call(true, ping)),
        Outcome::NotObserved
    );
}

#[test]
fn a_question_sent_on_both_streams_is_a_duplicate_not_a_misplaced_one() {
    // A server that broadcasts every message: the call's own stream has the
    // question, and so does the GET stream, whichever copy the client
    // answered first.
    let question = json!({"jsonrpc": "2.0", "id": 7, "method": "elicitation/create", "params": {"message": "ok?", "requestedSchema": {"type": "object", "properties": {}}}});
    let mut w = Wire::legacy();
    let get = w.request("GET", Value::Null, Headers::default());
    w.stream(get);
    let x = w.call(1, json!("tok"));
    w.sent(get, "g-1", question.clone());
    w.sent(x, "1-1", question);
    let answer = w.request(
        "POST",
        json!({"jsonrpc": "2.0", "id": 7, "result": {"action": "accept", "content": {}}}),
        Headers::default(),
    );
    w.status(answer, 202);
    w.sent(x, "1-2", result(1));
    let transcript = w.transcript();
    assert_eq!(
        outcome_of("stream.request_scoped_on_own_stream", &transcript),
        Outcome::NotObserved
    );
    assert_eq!(
        outcome_of("stream.no_duplicate_message", &transcript),
        Outcome::Fail
    );
}
