//! Every faulty fixture fails exactly the checks it targets, and the same
//! scenario through a transparent front (the reference agents as they are)
//! fails none. The fixtures are real wire misbehaviour: a front for the real
//! reference agents that breaks one rule (fixtures/faulty), driven by the real
//! runner through the recording proxy.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use mcp_harness::profile::Profile;
use mcp_harness::run::{CaseResult, Limits, Target, run_case};
use mcp_harness::scenario::{ScenarioFile, parse};
use mcp_harness_agents::{AgentSettings, ServeConfig, StoreChoice};
use mcp_harness_checks::Outcome;
use mcp_harness_fixtures::{FaultyFront, Misbehaviour};

const TRAVEL_CUT_AND_RESUME: &str = r#"
description = "travel call cut after 3 events and resumed"
versions = ["2025-11-25"]
[[faults]]
fault = "cut"
after = 3
select = { tool = "travel_agent", occurrence = 1 }
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
expect = "any"
"#;

const CUT_BEFORE_RESPONSE: &str = r#"
description = "travel call partitioned just before its response (the proxy records it) and resumed"
versions = ["2025-11-25"]
[client]
max_resumes = 1
[[faults]]
fault = "partition"
after = 7
select = { tool = "travel_agent", occurrence = 1 }
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
expect = "any"
"#;

const GET_STREAM_CUT_THEN_CALL_CUT: &str = r#"
description = "logs on a GET stream the client is partitioned from, then a travel call cut and resumed"
versions = ["2025-11-25"]
[[faults]]
fault = "partition"
after = 1
select = { http_method = "GET", resume = false }
[[faults]]
fault = "cut"
after = 3
select = { tool = "travel_agent", occurrence = 1 }
[[steps]]
do = "open_get_stream"
[[steps]]
do = "call"
tool = "long_running"
progress_token = "logs"
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
expect = "any"
"#;

const GET_STREAM_PARTITIONED_AND_RESUMED: &str = r#"
description = "the session's notifications on a GET stream the client is partitioned from after two events, resumed once the call has ended"
versions = ["2025-11-25"]
[client]
resume_delay_ms = 1000
[[faults]]
fault = "partition"
after = 2
select = { http_method = "GET", resume = false }
[[steps]]
do = "open_get_stream"
[[steps]]
do = "call"
tool = "notifies"
expect = "any"
[[steps]]
do = "wait"
ms = 1500
"#;

const CUT_THEN_UNKNOWN_RESUME: &str = r#"
description = "a travel call cut early, given up, then a resume with an id the server never issued"
versions = ["2025-11-25"]
[client]
max_resumes = 0
[[faults]]
fault = "cut"
after = 1
select = { tool = "travel_agent", occurrence = 1 }
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
expect = "any"
[[steps]]
do = "raw"
method = "GET"
headers = { "Last-Event-ID" = "999-999", "Accept" = "text/event-stream" }
expect_status_in = [200, 400, 404]
"#;

const GET_STREAM_AND_CALL: &str = r#"
description = "a GET stream, then a travel call"
versions = ["2025-11-25"]
[[steps]]
do = "open_get_stream"
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
"#;

const GET_STREAM_AND_LONG_RUN: &str = r#"
description = "a GET stream, then a long-running call that logs"
versions = ["2025-11-25"]
[[steps]]
do = "open_get_stream"
[[steps]]
do = "call"
tool = "long_running"
progress_token = "logs"
"#;

const TRAVEL: &str = r#"
description = "a travel call"
versions = ["2025-11-25"]
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
"#;

const TRAVEL_WITHOUT_ELICITATION: &str = r#"
description = "a travel call from a client that did not declare elicitation"
versions = ["2025-11-25"]
[client]
capabilities = ["sampling"]
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
expect = "any"
"#;

const RESEARCH_WITHOUT_SAMPLING: &str = r#"
description = "a research call from a client that did not declare sampling"
versions = ["2025-11-25"]
[client]
capabilities = ["elicitation"]
[[steps]]
do = "call"
tool = "samples"
progress_token = "study"
expect = "any"
"#;

const UNKNOWN_SESSION: &str = r#"
description = "a request with a session id the server never issued"
versions = ["2025-11-25"]
[[steps]]
do = "raw"
session = "00000000-0000-4000-8000-000000000000"
body = { jsonrpc = "2.0", id = 91, method = "tools/list" }
expect_status_in = [400, 404]
"#;

const FOREIGN_ORIGIN: &str = r#"
description = "a request from a foreign Origin"
versions = ["2025-11-25"]
[[steps]]
do = "raw"
headers = { "Origin" = "https://evil.example" }
body = { jsonrpc = "2.0", id = 94, method = "tools/list" }
expect_status_in = [200, 403]
"#;

const TWO_CALLS: &str = r#"
description = "two long-running calls, each on its own stream"
versions = ["2025-11-25"]
[[steps]]
do = "call"
tool = "long_running"
progress_token = "one"
[[steps]]
do = "call"
tool = "long_running"
progress_token = "two"
"#;

const LONG_RUN_2026: &str = r#"
description = "a 2026-07-28 long-running call that asks for no log level"
versions = ["2026-07-28"]
[[steps]]
do = "call"
tool = "progress"
progress_token = "p"
expect = "any"
"#;

const DISCOVER_TOOLS: &str = r#"
description = "the tools listed page by page, then a list with an invalid cursor"
versions = ["2025-11-25"]
[[steps]]
do = "discover"
what = "tools"
[[steps]]
do = "request"
method = "tools/list"
params = { cursor = "mcp-harness:invalid-cursor" }
"#;

const UNKNOWN_METHOD: &str = r#"
description = "a request for a method that does not exist"
versions = ["2025-11-25"]
[[steps]]
do = "request"
method = "mcp-harness/no_such_method"
expect = "error"
"#;

const NOT_JSON: &str = r#"
description = "a POST whose body is not JSON"
versions = ["2025-11-25"]
[[steps]]
do = "raw"
text_body = "this is not json"
expect_status_in = [400, 415, 422]
"#;

const DISCOVER_TOOLS_2026: &str = r#"
description = "the tools listed twice, page by page (2026-07-28)"
versions = ["2026-07-28"]
[[steps]]
do = "discover"
what = "tools"
"#;

const PING: &str = r#"
description = "a ping"
versions = ["2025-11-25"]
[[steps]]
do = "request"
method = "ping"
"#;

const COMPLETIONS: &str = r#"
description = "completions of the first prompt argument and template variable"
versions = ["2025-06-18"]
[[steps]]
do = "discover"
what = "completions"
"#;

const UNSUPPORTED_VERSION_2026: &str = r#"
description = "a 2026-07-28 request in a version that does not exist"
versions = ["2026-07-28"]
[[steps]]
do = "raw"
headers = { "MCP-Protocol-Version" = "1900-01-01", "Mcp-Method" = "server/discover" }
body = { jsonrpc = "2.0", id = 91, method = "server/discover", params = { _meta = { "io.modelcontextprotocol/protocolVersion" = "1900-01-01", "io.modelcontextprotocol/clientCapabilities" = {} } } }
expect_status = 400
"#;

const MISSING_META_2026: &str = r#"
description = "a 2026-07-28 request without the required _meta fields"
versions = ["2026-07-28"]
[[steps]]
do = "raw"
headers = { "Mcp-Method" = "tools/list" }
body = { jsonrpc = "2.0", id = 92, method = "tools/list", params = {} }
expect_status = 400
"#;

const READ_MISSING_2026: &str = r#"
description = "a 2026-07-28 read of a resource that does not exist"
versions = ["2026-07-28"]
[[steps]]
do = "request"
method = "resources/read"
params = { uri = "mcp-harness:///no-such-resource" }
expect = "error"
"#;

const RESUME_2026: &str = r#"
description = "a 2026-07-28 call cut after its first event, then a GET with that event's id"
versions = ["2026-07-28"]
[client]
max_resumes = 0
[[faults]]
fault = "cut"
after = 1
select = { rpc_method = "tools/call", occurrence = 1 }
[[steps]]
do = "call"
name = "call"
tool = "progress"
progress_token = "p"
expect = "any"
[[steps]]
do = "resume"
of = "call"
"#;

const LONG_RUN_ONCE: &str = r#"
description = "a long-running call whose client resumes at most once"
versions = ["2025-11-25"]
[client]
max_resumes = 1
[[steps]]
do = "call"
tool = "long_running"
progress_token = "one"
expect = "any"
"#;

const MISSING_SESSION: &str = r#"
description = "a request without Mcp-Session-Id"
versions = ["2025-11-25"]
[[steps]]
do = "raw"
session = "none"
body = { jsonrpc = "2.0", id = 90, method = "tools/list" }
expect_status_in = [200, 400]
"#;

const BAD_VERSION: &str = r#"
description = "an unsupported MCP-Protocol-Version header"
versions = ["2025-11-25"]
[[steps]]
do = "raw"
headers = { "MCP-Protocol-Version" = "1999-01-01" }
body = { jsonrpc = "2.0", id = 93, method = "tools/list" }
expect_status_in = [200, 400]
"#;

const RESUME_LATE: &str = r#"
description = "a long-running call cut and abandoned, resumed once it has finished"
versions = ["2025-11-25"]
[client]
max_resumes = 0
[[faults]]
fault = "cut"
after = 2
select = { rpc_method = "tools/call", occurrence = 1 }
[[steps]]
do = "call"
name = "run"
tool = "progress"
progress_token = "late"
expect = "any"
[[steps]]
do = "wait"
ms = 300
[[steps]]
do = "resume"
of = "run"
"#;

const RESUME_FROM_ANOTHER_SESSION: &str = r#"
description = "a call cut and abandoned; another session resumes with its event id"
versions = ["2025-11-25"]
[client]
max_resumes = 0
[[faults]]
fault = "cut"
after = 2
select = { rpc_method = "tools/call", occurrence = 1 }
[[steps]]
do = "call"
name = "mine"
tool = "progress"
progress_token = "mine"
expect = "any"
[[steps]]
do = "wait"
ms = 300
[[steps]]
do = "resume"
of = "mine"
session = "intruder"
"#;

const GET_STREAM_AND_PROGRESS: &str = r#"
description = "a GET stream, then a call with progress"
versions = ["2025-11-25"]
[[steps]]
do = "open_get_stream"
[[steps]]
do = "call"
tool = "progress"
progress_token = "work"
"#;

const GET_STREAM_AND_QUESTION: &str = r#"
description = "a GET stream, then a call that asks the user"
versions = ["2025-11-25"]
[[steps]]
do = "open_get_stream"
[[steps]]
do = "call"
tool = "elicits"
progress_token = "trip"
"#;

const LOAD: &str = r#"
description = "eight sessions at once, each calling a streaming tool"
versions = ["2025-11-25"]
[[steps]]
do = "load"
sessions = 8
tool = "progress"
"#;

const LONG_CALL_PARTITIONED: &str = r#"
description = "a long call partitioned after two events and abandoned, resumed once it has finished"
versions = ["2025-11-25"]
[client]
max_resumes = 0
[[faults]]
fault = "partition"
after = 2
select = { rpc_method = "tools/call", occurrence = 1 }
[[steps]]
do = "call"
name = "long"
tool = "long_running"
progress_token = "long"
expect = "any"
[[steps]]
do = "wait"
ms = 500
[[steps]]
do = "resume"
of = "long"
wait_ms = 5000
"#;

const TRAVEL_2026: &str = r#"
description = "a 2026-07-28 travel call (an elicitation as a multi round-trip request)"
versions = ["2026-07-28"]
[[steps]]
do = "call"
tool = "elicits"
expect = "any"
"#;

const TAMPERED_RETRY_2026: &str = r#"
description = "a 2026-07-28 travel call whose first retry tampers with the requestState"
versions = ["2026-07-28"]
[[steps]]
do = "call"
tool = "elicits"
first_retry = "tampered_state"
expect = "any"
"#;

const WRONG_KEYS_RETRY_2026: &str = r#"
description = "a 2026-07-28 travel call whose first retry answers under a key never asked"
versions = ["2026-07-28"]
[[steps]]
do = "call"
tool = "elicits"
first_retry = "wrong_keys"
expect = "any"
"#;

const EXTRA_KEYS_RETRY_2026: &str = r#"
description = "a 2026-07-28 travel call whose first retry answers a question never asked too"
versions = ["2026-07-28"]
[[steps]]
do = "call"
tool = "elicits"
first_retry = "extra_keys"
expect = "any"
"#;

const INVALID_RETRY_2026: &str = r#"
description = "a 2026-07-28 travel call whose first retry answers with a number"
versions = ["2026-07-28"]
[[steps]]
do = "call"
tool = "elicits"
first_retry = "invalid_responses"
expect = "any"
"#;

const TASKS_TRAVEL_2026: &str = r#"
description = "a 2026-07-28 travel call as a task (the price question through tasks/get and tasks/update)"
versions = ["2026-07-28"]
[client]
capabilities = ["elicitation", "tasks"]
[[steps]]
do = "call"
tool = "elicits"
expect = "any"
"#;

const INTRUDER_2026: &str = r#"
description = "another client reads, answers and cancels a waiting task it did not create"
versions = ["2026-07-28"]
[client]
capabilities = ["elicitation", "tasks"]
[[steps]]
do = "call"
tool = "elicits"
intruder_after_polls = 0
expect = "any"
"#;

const UNKNOWN_TASK_2026: &str = r#"
description = "tasks/get, tasks/update and tasks/cancel of a task id the server never issued"
versions = ["2026-07-28"]
[client]
capabilities = ["tasks"]
[[steps]]
do = "request"
method = "tasks/get"
params = { taskId = "mcp-harness-no-such-task" }
[[steps]]
do = "request"
method = "tasks/update"
params = { taskId = "mcp-harness-no-such-task", inputResponses = {} }
[[steps]]
do = "request"
method = "tasks/cancel"
params = { taskId = "mcp-harness-no-such-task" }
"#;

const UNDECLARED_TASK_2026: &str = r#"
description = "tasks/get from a client that did not declare the tasks extension"
versions = ["2026-07-28"]
[client]
capabilities = ["elicitation"]
[[steps]]
do = "request"
method = "tasks/get"
params = { taskId = "mcp-harness-no-such-task" }
"#;

const LISTEN_2026: &str = r#"
description = "a 2026-07-28 listen stream for resource list changes, then a call that starts a run"
versions = ["2026-07-28"]
[[steps]]
do = "listen"
notifications = { resourcesListChanged = true }
[[steps]]
do = "call"
tool = "progress"
progress_token = "p"
expect = "any"
[[steps]]
do = "await_notifications"
count = 1
"#;

const HEADER_MISMATCH_2026: &str = r#"
description = "a 2026-07-28 tools/list labelled tools/call in its Mcp-Method header"
versions = ["2026-07-28"]
[[steps]]
do = "raw"
headers = { "Mcp-Method" = "tools/call" }
body = { jsonrpc = "2.0", id = 96, method = "tools/list", params = { _meta = { "io.modelcontextprotocol/protocolVersion" = "2026-07-28", "io.modelcontextprotocol/clientCapabilities" = {} } } }
expect_status = 400
"#;

const ITINERARY_WITHOUT_ROOTS_2026: &str = r#"
description = "a 2026-07-28 itinerary call by a client that declares elicitation, not roots"
versions = ["2026-07-28"]
[client]
capabilities = ["elicitation"]
[[steps]]
do = "call"
tool = "multi_round"
expect = "any"
"#;

/// Each fixture, the scenario that exposes it, and the checks it must break
/// (with the outcome: fail for a MUST, warn for a SHOULD).
/// A fixture, its scenario, and the checks it breaks with their outcomes.
type Fixture = (Misbehaviour, &'static str, Vec<(&'static str, Outcome)>);

fn table() -> Vec<Fixture> {
    use Misbehaviour::*;
    let fail = Outcome::Fail;
    vec![
        (
            ReplayDuplicate,
            TRAVEL_CUT_AND_RESUME,
            vec![
                ("stream.no_duplicate_event", fail.clone()),
                ("stream.replay_after_last_event_id", fail.clone()),
            ],
        ),
        (
            ReplayOtherStream,
            GET_STREAM_CUT_THEN_CALL_CUT,
            vec![("stream.replay_same_stream_only", fail.clone())],
        ),
        (
            UnknownIdReplaysAll,
            CUT_THEN_UNKNOWN_RESUME,
            vec![("stream.replay_same_stream_only", fail.clone())],
        ),
        (
            LoseResponseOnReplay,
            CUT_BEFORE_RESPONSE,
            vec![
                ("stream.nothing_lost", Outcome::Warn),
                ("stream.response_after_resume", Outcome::Warn),
            ],
        ),
        (
            EmptyResume,
            RESUME_LATE,
            vec![("stream.response_after_resume", Outcome::Warn)],
        ),
        (
            ReplayAcrossSessions,
            RESUME_FROM_ANOTHER_SESSION,
            // The other session's progress names a token this one never sent.
            vec![
                ("stream.replay_own_session_only", fail.clone()),
                ("progress.token_known", fail.clone()),
            ],
        ),
        (
            ProgressOnGetStream,
            GET_STREAM_AND_PROGRESS,
            vec![("stream.request_scoped_on_own_stream", Outcome::Warn)],
        ),
        (
            // The client answers the question where it came; the call ends.
            RequestsOnGetStream,
            GET_STREAM_AND_QUESTION,
            vec![("stream.request_scoped_on_own_stream", Outcome::Warn)],
        ),
        (
            GetStreamNotReplayed,
            GET_STREAM_PARTITIONED_AND_RESUMED,
            vec![("stream.nothing_lost", Outcome::Warn)],
        ),
        (
            ResumeLeftOpen,
            TRAVEL_CUT_AND_RESUME,
            vec![("stream.closed_after_response", Outcome::Warn)],
        ),
        (
            RefuseUnderLoad,
            LOAD,
            vec![("load.refusals", Outcome::Warn)],
        ),
        (
            TruncatedReplay,
            LONG_CALL_PARTITIONED,
            vec![("stream.nothing_lost", Outcome::Warn)],
        ),
        (
            Broadcast,
            GET_STREAM_AND_CALL,
            vec![("stream.no_duplicate_message", fail.clone())],
        ),
        (
            ProgressRepeats,
            TRAVEL,
            vec![("progress.increasing", fail.clone())],
        ),
        (
            ProgressForeignToken,
            TRAVEL,
            vec![("progress.token_known", fail.clone())],
        ),
        (
            ProgressAfterResponse,
            TRAVEL,
            vec![("progress.not_after_response", fail.clone())],
        ),
        (
            LogsUndeclared,
            GET_STREAM_AND_LONG_RUN,
            vec![("logging.only_if_declared", fail.clone())],
        ),
        (
            LogsStackTrace,
            GET_STREAM_AND_LONG_RUN,
            vec![("logging.no_internal_details", fail.clone())],
        ),
        (
            ElicitsUndeclared,
            TRAVEL_WITHOUT_ELICITATION,
            vec![("elicitation.only_if_declared", fail.clone())],
        ),
        (
            SamplesUndeclared,
            RESEARCH_WITHOUT_SAMPLING,
            vec![("sampling.only_if_declared", fail.clone())],
        ),
        (
            NoPriming,
            TRAVEL,
            vec![("sse.priming_event", Outcome::Warn)],
        ),
        (
            BadRequestForUnknownSession,
            UNKNOWN_SESSION,
            vec![("session.unknown_id_404", fail.clone())],
        ),
        (
            NoOriginCheck,
            FOREIGN_ORIGIN,
            vec![("security.origin_403", fail.clone())],
        ),
        (
            ResponseOnGetStream,
            GET_STREAM_AND_CALL,
            vec![("stream.get_no_response", fail.clone())],
        ),
        (
            SessionIdForbiddenChars,
            TRAVEL,
            vec![("session.id_visible_ascii", fail.clone())],
        ),
        (
            MalformedMessages,
            TRAVEL,
            vec![("jsonrpc.well_formed", fail.clone())],
        ),
        (
            ReusedEventIds,
            TWO_CALLS,
            vec![("stream.event_id_unique", fail.clone())],
        ),
        (
            DropResponses,
            LONG_RUN_ONCE,
            vec![("response.exactly_once", fail.clone())],
        ),
        (
            MissingSessionAccepted,
            MISSING_SESSION,
            vec![("session.missing_id_400", Outcome::Warn)],
        ),
        (
            InvalidVersionAccepted,
            BAD_VERSION,
            vec![("version.invalid_header_400", fail.clone())],
        ),
        (
            NestedElicitationSchema,
            TRAVEL,
            vec![
                ("elicitation.requested_schema", fail.clone()),
                ("schema.server_messages", fail.clone()),
            ],
        ),
        (
            NoResultType,
            LONG_RUN_2026,
            vec![
                ("result.result_type", fail.clone()),
                ("schema.server_messages", fail.clone()),
            ],
        ),
        (
            LogsUnasked,
            LONG_RUN_2026,
            vec![("logging.only_when_requested", fail.clone())],
        ),
        (
            OldNotFoundCode,
            READ_MISSING_2026,
            vec![("resources.not_found_code", fail.clone())],
        ),
        (
            ResumesIn2026,
            RESUME_2026,
            vec![("stream.not_resumable", Outcome::Warn)],
        ),
        (
            DuplicateToolName,
            DISCOVER_TOOLS,
            vec![("tools.names_unique", Outcome::Warn)],
        ),
        (
            BadToolName,
            DISCOVER_TOOLS,
            vec![("tools.name_characters", Outcome::Warn)],
        ),
        (
            InvalidToolSchema,
            DISCOVER_TOOLS,
            vec![("tools.schemas_valid", fail.clone())],
        ),
        (
            CursorForgotten,
            DISCOVER_TOOLS,
            vec![("pagination.cursors_stable", Outcome::Warn)],
        ),
        (
            UnknownMethodInvalidParams,
            UNKNOWN_METHOD,
            vec![("jsonrpc.method_not_found", Outcome::Warn)],
        ),
        (
            ParseErrorWithId,
            NOT_JSON,
            vec![("jsonrpc.error_id_null", Outcome::Fail)],
        ),
        (
            InvalidCursorAccepted,
            DISCOVER_TOOLS,
            vec![("pagination.invalid_cursor_32602", Outcome::Warn)],
        ),
        (
            ShuffledTools,
            DISCOVER_TOOLS_2026,
            vec![("tools.deterministic_order", Outcome::Warn)],
        ),
        (
            PingNotEmpty,
            PING,
            vec![("ping.empty_result", fail.clone())],
        ),
        (
            TooManyCompletions,
            COMPLETIONS,
            vec![("completion.at_most_100", fail.clone())],
        ),
        (
            DiscoverWithoutVersions,
            DISCOVER_TOOLS_2026,
            vec![
                ("discover.answered", fail.clone()),
                ("schema.server_messages", fail.clone()),
            ],
        ),
        (
            UnsupportedVersionServed,
            UNSUPPORTED_VERSION_2026,
            vec![
                ("version.unsupported_error", fail.clone()),
                ("version.invalid_header_400", fail.clone()),
            ],
        ),
        (
            MissingMetaServed,
            MISSING_META_2026,
            vec![("meta.required_fields", fail.clone())],
        ),
        (
            InputRequiredOnList,
            DISCOVER_TOOLS_2026,
            vec![
                ("mrtr.supported_requests_only", fail.clone()),
                ("schema.server_messages", fail.clone()),
            ],
        ),
        (
            EmptyInputRequired,
            TRAVEL_2026,
            vec![("mrtr.input_required_well_formed", fail.clone())],
        ),
        (
            TamperedStateAccepted,
            TAMPERED_RETRY_2026,
            vec![("mrtr.tampered_state_rejected", Outcome::Warn)],
        ),
        (
            MissingInputRefused,
            WRONG_KEYS_RETRY_2026,
            vec![("mrtr.missing_input_rerequested", Outcome::Warn)],
        ),
        (
            ExtraInputRefused,
            EXTRA_KEYS_RETRY_2026,
            vec![("mrtr.extra_input_ignored", Outcome::Warn)],
        ),
        (
            InvalidInputAccepted,
            INVALID_RETRY_2026,
            vec![("mrtr.invalid_input_refused", Outcome::Warn)],
        ),
        (
            RootsUndeclared,
            ITINERARY_WITHOUT_ROOTS_2026,
            vec![("roots.only_if_declared", fail.clone())],
        ),
        (
            NoServerInfo,
            DISCOVER_TOOLS_2026,
            vec![("meta.server_info", Outcome::Warn)],
        ),
        (
            HeaderMismatchServed,
            HEADER_MISMATCH_2026,
            vec![("headers.mismatch_refused", fail.clone())],
        ),
        (
            TaskToUndeclared,
            TRAVEL_2026,
            vec![("tasks.only_if_declared", fail.clone())],
        ),
        (
            TaskGetWithoutResult,
            TASKS_TRAVEL_2026,
            vec![("tasks.get_detailed", fail.clone())],
        ),
        (
            AckWithTaskFields,
            TASKS_TRAVEL_2026,
            vec![("tasks.empty_acknowledgement", fail.clone())],
        ),
        (
            UnknownTaskServed,
            UNKNOWN_TASK_2026,
            vec![
                ("tasks.unknown_id_32602", fail.clone()),
                ("tasks.unknown_id_refused", Outcome::Warn),
            ],
        ),
        (
            TaskMethodsUndeclared,
            UNDECLARED_TASK_2026,
            vec![("tasks.capability_required", fail.clone())],
        ),
        (
            ListenWithoutAck,
            LISTEN_2026,
            vec![("subscriptions.acknowledged_first", fail.clone())],
        ),
        (
            ListenUntagged,
            LISTEN_2026,
            vec![("subscriptions.tagged", fail.clone())],
        ),
        (
            ListenUnrequested,
            LISTEN_2026,
            vec![("subscriptions.only_requested", fail.clone())],
        ),
        (
            TaskForgotten,
            TASKS_TRAVEL_2026,
            vec![("tasks.issued_resolves", fail.clone())],
        ),
        (
            GuessableTaskIds,
            TASKS_TRAVEL_2026,
            vec![("tasks.id_unguessable", fail.clone())],
        ),
        (
            TasksOpenToAnyone,
            INTRUDER_2026,
            vec![("tasks.owner_only", Outcome::Warn)],
        ),
        (
            NoCacheHints,
            DISCOVER_TOOLS_2026,
            vec![
                ("cache.hints", fail.clone()),
                ("schema.server_messages", fail),
            ],
        ),
    ]
}

/// Run `scenario` under its first version through a front with `misbehaviour` in front
/// of `upstream`; the case must run to its end.
async fn case_through(upstream: &str, misbehaviour: Misbehaviour, scenario: &str) -> CaseResult {
    let front = FaultyFront::start(upstream, misbehaviour).await.unwrap();
    let path = PathBuf::from(format!("{misbehaviour:?}.toml"));
    let scenario = ScenarioFile {
        id: format!("faulty/{misbehaviour:?}"),
        scenario: parse(&path, scenario).unwrap(),
        path,
    };
    let limits = Limits {
        start: Duration::from_secs(10),
        case: Duration::from_secs(60),
        call: Duration::from_secs(10),
        ..Limits::default()
    };
    let target = Target::Url(format!("{}/mcp", front.base_url()));
    let version = scenario.scenario.versions[0].clone();
    let case = run_case(
        &scenario,
        &version,
        &target,
        &Profile::reference_agents(),
        limits,
    )
    .await;
    assert!(case.error.is_none(), "{misbehaviour:?}: {:?}", case.error);
    assert!(
        case.skipped.is_none(),
        "{misbehaviour:?}: {:?}",
        case.skipped
    );
    case
}

/// The checks a run broke (fail or warn), with their outcome; the scenario's
/// own expectations are not a rule of the specification.
async fn broken_through(
    upstream: &str,
    misbehaviour: Misbehaviour,
    scenario: &str,
) -> (BTreeSet<(String, String)>, String) {
    let case = case_through(upstream, misbehaviour, scenario).await;
    let broken = case
        .verdicts
        .iter()
        .filter(|v| v.check != "scenario.expectations")
        .filter(|v| matches!(v.outcome, Outcome::Fail | Outcome::Warn))
        .map(|v| (v.check.clone(), format!("{:?}", v.outcome)))
        .collect();
    let detail = case
        .verdicts
        .iter()
        .filter(|v| !v.findings.is_empty())
        .map(|v| format!("{}: {:?}", v.check, v.findings))
        .collect::<Vec<_>>()
        .join("\n");
    (broken, detail)
}

/// The reference agents, in this process, as the real server behind every front.
async fn start_agents() -> mcp_harness_agents::RunningAgents {
    mcp_harness_agents::serve(ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        settings: AgentSettings {
            time_scale: 0.0,
            input_timeout: Duration::from_secs(2),
        },
        store: StoreChoice::Memory,
        ..ServeConfig::default()
    })
    .await
    .unwrap()
}

/// A fixture's misbehaviour and scenario, the checks the run broke, and
/// their findings.
type FixtureRun = (
    Misbehaviour,
    &'static str,
    BTreeSet<(String, String)>,
    String,
);

/// How many fixture cases run at once: each has its own front and session
/// on the one server, so they cannot see each other's traffic.
const FIXTURES_AT_ONCE: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fixture_fails_exactly_its_checks_and_the_reference_agents_none() {
    use futures::StreamExt;
    let agents = start_agents().await;
    let upstream = format!("http://{}", agents.addr());
    let fixtures = table();
    let covered: BTreeSet<String> = fixtures
        .iter()
        .flat_map(|(_, _, targets)| targets.iter().map(|(check, _)| check.to_string()))
        .collect();
    // Each fixture through its faulty front, and each scenario once through a
    // transparent one (the control: the reference agents as they are).
    let mut controls: Vec<&str> = fixtures.iter().map(|(_, scenario, _)| *scenario).collect();
    controls.sort_unstable();
    controls.dedup();
    let runs = fixtures
        .iter()
        .map(|(misbehaviour, scenario, _)| (*misbehaviour, *scenario))
        .chain(
            controls
                .iter()
                .map(|scenario| (Misbehaviour::None, *scenario)),
        );
    let results: Vec<FixtureRun> = futures::stream::iter(runs)
        .map(|(misbehaviour, scenario)| {
            let upstream = upstream.clone();
            async move {
                let (broken, detail) = broken_through(&upstream, misbehaviour, scenario).await;
                (misbehaviour, scenario, broken, detail)
            }
        })
        .buffer_unordered(FIXTURES_AT_ONCE)
        .collect()
        .await;
    let mut problems = Vec::new();
    for (misbehaviour, scenario, targets) in &fixtures {
        let wanted: BTreeSet<(String, String)> = targets
            .iter()
            .map(|(check, outcome)| (check.to_string(), format!("{outcome:?}")))
            .collect();
        let (_, _, broken, detail) = results
            .iter()
            .find(|(m, s, _, _)| m == misbehaviour && s == scenario)
            .expect("every fixture ran");
        if *broken != wanted {
            problems.push(format!(
                "{misbehaviour:?} broke {broken:?}, expected {wanted:?}\n{detail}"
            ));
        }
    }
    for (misbehaviour, scenario, control, detail) in &results {
        if *misbehaviour == Misbehaviour::None && !control.is_empty() {
            let of: Vec<String> = fixtures
                .iter()
                .filter(|(_, s, _)| s == scenario)
                .map(|(m, _, _)| format!("{m:?}"))
                .collect();
            problems.push(format!(
                "the transparent front broke {control:?} on the scenario of {}\n{detail}",
                of.join(", ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // Every fixture in the crate is in the table.
    assert_eq!(table().len() + 1, Misbehaviour::ALL.len());
    // Every check of the catalog but tasks.legal_transitions has a wire fixture
    // (that one is shown failing on a transcript in the checks crate); the
    // stdio checks have theirs in tests/stdio_fixtures.rs. A front cannot
    // change where a server listens, and a test binds only 127.0.0.1, so
    // security.binds_localhost is shown failing on a transcript (checks
    // crate) and read from /proc of a real process (chaos crate). The
    // fixtures' server needs no credential, so auth.invalid_token_401 is shown
    // failing on a real server that ignores tokens in tests/credentials.rs.
    let uncovered: Vec<&str> = mcp_harness_checks::catalog()
        .iter()
        .filter(|c| c.transports != mcp_harness_checks::Transports::StdioOnly)
        .map(|c| c.id)
        .filter(|id| !covered.contains(*id))
        .collect();
    assert_eq!(
        uncovered,
        [
            "security.binds_localhost",
            "auth.invalid_token_401",
            "tasks.legal_transitions"
        ]
    );
    agents.shutdown().await;
}

/// Resilience beside conformance: a server that keeps every MUST but answers a
/// late resume with an empty stream loses the call; the run fails for it
/// unless conformance alone is judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_call_fails_the_run_on_resilience_unless_conformance_only() {
    use mcp_harness::report::{Baseline, Summary};
    let agents = start_agents().await;
    let upstream = format!("http://{}", agents.addr());
    let mut cases = Vec::new();
    for misbehaviour in [Misbehaviour::EmptyResume, Misbehaviour::None] {
        cases.push(case_through(&upstream, misbehaviour, RESUME_LATE).await);
    }
    assert!(cases[0].lost_a_call(), "{:?}", cases[0].resilience);
    assert!(
        matches!(
            cases[1].resilience,
            mcp_harness_checks::Resilience::Survived { calls: 1 }
        ),
        "{:?}",
        cases[1].resilience
    );
    let mut summary = Summary::of(&cases, &Baseline::default());
    assert!(summary.failed_cases.is_empty(), "no MUST is broken");
    assert_eq!(summary.lost_cases, ["faulty/EmptyResume@2025-11-25"]);
    assert!(!summary.passed());
    assert!(
        summary
            .closing_line()
            .contains("resilience: 1 of 2 chaos cases lost a call"),
        "{}",
        summary.closing_line()
    );
    let expected = Baseline::parse("faulty/EmptyResume@2025-11-25 resilience  # known").unwrap();
    assert!(
        Summary::of(&cases, &expected).passed(),
        "a baseline can expect it"
    );
    summary.ignore_resilience();
    assert!(summary.passed());
    agents.shutdown().await;
}

/// `run -j 4` against a server that refuses every fourth session (503): the
/// run backs off to fewer cases at once and says so, and the cases the server
/// turned away run again instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_sessions_gets_fewer_cases_at_once_and_no_case_fails_for_it() {
    let agents = start_agents().await;
    let upstream = format!("http://{}", agents.addr());
    let front = FaultyFront::start(&upstream, Misbehaviour::RefuseUnderLoad)
        .await
        .unwrap();
    let url = format!("{}/mcp", front.base_url());
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcp-harness"))
        .args([
            "run",
            "--server-url",
            &url,
            "-j",
            "4",
            "utilities/",
            "pagination/",
            "tools/list",
            "logging/log_level",
        ])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(
        stderr.contains("note: the server refused a session")
            && stderr.contains("initialize answered HTTP 503"),
        "{stderr}\n{stdout}"
    );
    assert!(
        stderr.contains("going on with fewer cases at once (-j 4 -> -j 2)"),
        "{stderr}"
    );
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stdout.contains("FAIL "), "{stdout}");
    drop(front);
    agents.shutdown().await;
}

/// The scenario of sessions side by side provokes a leak across sessions: a
/// server that sends a call's progress on every open GET stream (the other
/// session's among them) fails `progress.token_known` there, and the
/// reference agents behind a transparent front do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_side_by_side_catch_progress_sent_to_the_other_session() {
    let agents = start_agents().await;
    let upstream = format!("http://{}", agents.addr());
    let scenario = include_str!("../../../scenarios/progress/side_by_side_sessions.toml");
    let (broken, detail) =
        broken_through(&upstream, Misbehaviour::ProgressOnGetStream, scenario).await;
    assert!(
        broken.contains(&("progress.token_known".to_owned(), "Fail".to_owned())),
        "{broken:?}\n{detail}"
    );
    assert!(detail.contains("which the client never sent"), "{detail}");
    let (control, detail) = broken_through(&upstream, Misbehaviour::None, scenario).await;
    assert!(control.is_empty(), "{control:?}\n{detail}");
    agents.shutdown().await;
}
