//! The agents in protocol 2026-07-28 (stateless): multi round-trip requests with a
//! sealed request state, and durable runs through the tasks extension.
#![allow(deprecated)]

mod support;

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, GetTaskParams, InputResponses, ProtocolVersion,
    TaskStatus, UpdateTaskParams,
};
use serde_json::json;
use support::*;

fn modern() -> ScriptedClient {
    ScriptedClient::new(ProtocolVersion::V_2026_07_28)
}

#[tokio::test]
async fn every_travel_answer_through_input_required_rounds() {
    for (answer, expect, status) in [
        (
            ElicitAnswer::Accept(json!({"confirm": true, "notes": "aisle"})),
            "Trip to Oslo booked at $1200. Notes: aisle",
            "completed",
        ),
        (
            ElicitAnswer::Accept(json!({"confirm": false})),
            "Booking cancelled by user",
            "cancelled",
        ),
        (
            ElicitAnswer::Decline,
            "Booking cancelled by user",
            "cancelled",
        ),
        (ElicitAnswer::Cancel, "was dismissed", "cancelled"),
    ] {
        let agents = start_agents(TEST_LIMIT).await;
        let mut client = modern();
        client.elicit = answer.clone();
        let probe = client.clone();
        let service = client.connect(&agents.url()).await;
        assert_eq!(
            service.peer_info().unwrap().protocol_version,
            ProtocolVersion::V_2026_07_28
        );
        let params = CallToolRequestParams::new("travel_agent")
            .with_arguments(json!({"destination": "Oslo"}).as_object().cloned().unwrap());
        let result = tokio::time::timeout(TEST_LIMIT, service.call_tool(params))
            .await
            .unwrap()
            .unwrap();
        let text = result_text(&result);
        assert!(text.contains(expect), "{answer:?}: {text}");
        assert_eq!(
            probe.questions.lock().unwrap().len(),
            1,
            "asked exactly once"
        );
        let first_round: Vec<_> = probe
            .progress_values()
            .into_iter()
            .take(3)
            .map(|(v, _)| v)
            .collect();
        assert_eq!(first_round, [0.0, 25.0, 50.0], "{answer:?}");
        assert_eq!(
            read_run(&service, &run_uri(&result)).await["status"],
            status,
            "{answer:?}"
        );
        let _ = service.cancel().await;
        agents.shutdown().await;
    }
}

#[tokio::test]
async fn research_through_input_required_rounds() {
    let agents = start_agents(TEST_LIMIT).await;
    let client = modern();
    let probe = client.clone();
    let service = client.connect(&agents.url()).await;
    let result = service
        .call_tool(CallToolRequestParams::new("research_agent"))
        .await
        .unwrap();
    assert!(
        result_text(&result).contains("Summary: Agents are everywhere."),
        "{}",
        result_text(&result)
    );
    let messages: Vec<String> = probe
        .progress_values()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        messages.last().map(String::as_str),
        Some("Research completed successfully")
    );
    let _ = service.cancel().await;
    agents.shutdown().await;
}

/// First round by hand: returns the sealed state and the input request key.
async fn first_round(
    service: &rmcp::service::RunningService<rmcp::RoleClient, ScriptedClient>,
) -> (String, String) {
    let response = service
        .call_tool_once(CallToolRequestParams::new("travel_agent"))
        .await
        .unwrap();
    let CallToolResponse::InputRequired(input) = response else {
        panic!("expected InputRequiredResult, got {response:?}")
    };
    let requests = input.input_requests.expect("input requests");
    let key = requests.keys().next().unwrap().clone();
    (input.request_state.expect("request state"), key)
}

fn accept(key: &str) -> InputResponses {
    InputResponses::from([(
        key.to_owned(),
        json!({"action": "accept", "content": {"confirm": true}}),
    )])
}

#[tokio::test]
async fn a_tampered_or_reused_request_state_is_refused() {
    let agents = start_agents(TEST_LIMIT).await;
    let service = modern().connect(&agents.url()).await;
    let (state, key) = first_round(&service).await;

    let mut tampered = state.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let retry = CallToolRequestParams::new("travel_agent")
        .with_input_responses(accept(&key))
        .with_request_state(String::from_utf8(tampered).unwrap());
    let error = service.call_tool_once(retry).await.unwrap_err().to_string();
    assert!(error.contains("invalid requestState"), "{error}");

    let wrong_tool = CallToolRequestParams::new("research_agent")
        .with_input_responses(accept(&key))
        .with_request_state(state.clone());
    let error = service
        .call_tool_once(wrong_tool)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("invalid requestState"),
        "a state is bound to its tool: {error}"
    );

    let retry = CallToolRequestParams::new("travel_agent")
        .with_input_responses(accept(&key))
        .with_request_state(state.clone());
    let CallToolResponse::Complete(done) = service.call_tool_once(retry.clone()).await.unwrap()
    else {
        panic!("expected a result")
    };
    assert!(
        result_text(&done).contains("booked"),
        "{}",
        result_text(&done)
    );
    let error = service.call_tool_once(retry).await.unwrap_err().to_string();
    assert!(
        error.contains("not waiting for this input"),
        "a state books once: {error}"
    );

    // A retry without the answer is asked again (the state still good); one
    // whose answer is not an ElicitResult is refused; then the answer books.
    let (state, key) = first_round(&service).await;
    let no_answer = CallToolRequestParams::new("travel_agent").with_request_state(state.clone());
    let CallToolResponse::InputRequired(again) = service.call_tool_once(no_answer).await.unwrap()
    else {
        panic!("a missing answer is asked for again")
    };
    assert!(
        again
            .input_requests
            .as_ref()
            .is_some_and(|r| r.contains_key(&key))
    );
    let mut garbage = InputResponses::new();
    garbage.insert(key.clone(), json!(12345));
    let misshapen = CallToolRequestParams::new("travel_agent")
        .with_input_responses(garbage)
        .with_request_state(state.clone());
    let error = service
        .call_tool_once(misshapen)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("must be an object"), "{error}");
    let answered = CallToolRequestParams::new("travel_agent")
        .with_input_responses(accept(&key))
        .with_request_state(again.request_state.clone().unwrap_or(state));
    let CallToolResponse::Complete(done) = service.call_tool_once(answered).await.unwrap() else {
        panic!("expected a result")
    };
    assert!(
        result_text(&done).contains("booked"),
        "{}",
        result_text(&done)
    );
    let _ = service.cancel().await;
    agents.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_retries_leaves_a_failed_run() {
    let agents = start_agents(Duration::from_millis(300)).await;
    let service = modern().connect(&agents.url()).await;
    let (state, key) = first_round(&service).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let runs = agents.runs().list(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, mcp_harness_agents::runs::RunStatus::Failed);
    let late = CallToolRequestParams::new("travel_agent")
        .with_input_responses(accept(&key))
        .with_request_state(state);
    let error = service.call_tool_once(late).await.unwrap_err().to_string();
    assert!(
        error.contains("expired") || error.contains("not waiting"),
        "{error}"
    );
    let _ = service.cancel().await;
    agents.shutdown().await;
}

#[tokio::test]
async fn clients_without_elicitation_get_an_error_result() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut client = modern();
    client.elicitation = false;
    let service = client.connect(&agents.url()).await;
    let result = service
        .call_tool(CallToolRequestParams::new("travel_agent"))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(result_text(&result).contains("capability `elicitation`"));
    let _ = service.cancel().await;
    agents.shutdown().await;
}

async fn poll_until(
    service: &rmcp::service::RunningService<rmcp::RoleClient, ScriptedClient>,
    id: &str,
    wanted: TaskStatus,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + TEST_LIMIT;
    loop {
        let got = service.get_task(GetTaskParams::new(id)).await.unwrap();
        let json = serde_json::to_value(&got).unwrap();
        if got.task.task.status == wanted {
            return json;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task never reached {wanted:?}: {json}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn tasks_wait_for_input_and_complete() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut client = modern();
    client.tasks = true;
    let service = client.connect(&agents.url()).await;
    let response = service
        .call_tool_once(CallToolRequestParams::new("travel_agent"))
        .await
        .unwrap();
    let CallToolResponse::Task(created) = response else {
        panic!("expected a task, got {response:?}")
    };
    let id = created.task.task_id.clone();

    let waiting = poll_until(&service, &id, TaskStatus::InputRequired).await;
    let key = waiting["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        waiting["inputRequests"][&key]["method"],
        "elicitation/create"
    );
    service
        .update_task(UpdateTaskParams::new(&id, accept(&key)))
        .await
        .unwrap();
    let done = poll_until(&service, &id, TaskStatus::Completed).await;
    let text = done["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("booked"), "{done}");

    // An answer to a question already answered is ignored: acknowledged, and
    // the task stays as it was.
    service
        .update_task(UpdateTaskParams::new(&id, accept(&key)))
        .await
        .unwrap();
    poll_until(&service, &id, TaskStatus::Completed).await;
    let unknown = service
        .get_task(GetTaskParams::new("nope"))
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("unknown task `nope`"), "{unknown}");

    // A task can be cancelled while it waits.
    let CallToolResponse::Task(created) = service
        .call_tool_once(CallToolRequestParams::new("research_agent"))
        .await
        .unwrap()
    else {
        panic!()
    };
    let id = created.task.task_id.clone();
    poll_until(&service, &id, TaskStatus::InputRequired).await;
    service
        .cancel_task(rmcp::model::CancelTaskParams::new(&id))
        .await
        .unwrap();
    poll_until(&service, &id, TaskStatus::Cancelled).await;
    let _ = service.cancel().await;
    agents.shutdown().await;
}

#[tokio::test]
async fn client_errors_fail_the_call_and_the_run_never_books() {
    for (tool, elicit, sample) in [
        (
            "travel_agent",
            ElicitAnswer::Error,
            SampleAnswer::Text("unused"),
        ),
        ("research_agent", ElicitAnswer::Decline, SampleAnswer::Error),
    ] {
        let agents = start_agents(Duration::from_millis(300)).await;
        let mut client = modern();
        client.elicit = elicit;
        client.sample = sample;
        let service = client.connect(&agents.url()).await;
        let error = service
            .call_tool(CallToolRequestParams::new(tool))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unavailable") || error.contains("crashed"),
            "{tool}: {error}"
        );
        tokio::time::sleep(Duration::from_millis(800)).await;
        let runs = agents.runs().list(10).await.unwrap();
        assert_eq!(
            runs[0].status,
            mcp_harness_agents::runs::RunStatus::Failed,
            "{tool}"
        );
        let text = runs[0].result.as_ref().unwrap().to_string();
        assert!(
            text.contains("no answer within the input timeout") && !text.contains("booked at"),
            "{tool}: {text}"
        );
        let _ = service.cancel().await;
        agents.shutdown().await;
    }
}

#[tokio::test]
async fn long_running_sends_no_logs_to_a_request_without_a_log_level() {
    let agents = start_agents(TEST_LIMIT).await;
    let client = modern();
    let probe = client.clone();
    let service = client.connect(&agents.url()).await;
    let args = json!({"steps": 4}).as_object().cloned().unwrap();
    let result = service
        .call_tool(CallToolRequestParams::new("long_running_agent").with_arguments(args))
        .await
        .unwrap();
    assert!(result_text(&result).contains("Completed 4 steps"));
    // 2026-07-28: without io.modelcontextprotocol/logLevel in the request's
    // _meta the server MUST NOT send notifications/message for it (the harness's
    // logging/per_step scenario asks for a level and gets them).
    assert_eq!(
        probe.logs.lock().unwrap().len(),
        0,
        "stateless: no log messages for a request that asked for none"
    );
    assert_eq!(probe.progress.lock().unwrap().len(), 4);
    let _ = service.cancel().await;
    agents.shutdown().await;
}
