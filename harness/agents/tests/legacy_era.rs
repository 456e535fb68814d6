//! The agents in the legacy era (2025-06-18 and 2025-11-25 sessions), driven by a
#![allow(deprecated)]
//! real rmcp client over HTTP: every elicitation and sampling outcome.

mod support;

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion};
use serde_json::json;
use support::*;

const LEGACY: [ProtocolVersion; 2] = [ProtocolVersion::V_2025_06_18, ProtocolVersion::V_2025_11_25];

async fn call(
    client: ScriptedClient,
    tool: &str,
    args: serde_json::Value,
    input_timeout: Duration,
) -> (CallToolResult, ScriptedClient, serde_json::Value) {
    let agents = start_agents(input_timeout).await;
    let probe = client.clone();
    let service = client.connect(&agents.url()).await;
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let result = tokio::time::timeout(TEST_LIMIT, service.call_tool(params))
        .await
        .expect("call ends in time")
        .expect("call succeeds at the protocol level");
    let run = read_run(&service, &run_uri(&result)).await;
    let _ = service.cancel().await;
    agents.shutdown().await;
    (result, probe, run)
}

fn messages(client: &ScriptedClient) -> Vec<String> {
    client
        .progress_values()
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

#[tokio::test]
async fn travel_accept_books_and_quotes_the_notes() {
    for version in LEGACY {
        let (result, client, run) = call(
            ScriptedClient::new(version.clone()),
            "travel_agent",
            json!({"destination": "Rome"}),
            TEST_LIMIT,
        )
        .await;
        assert_ne!(result.is_error, Some(true), "{version:?}");
        let text = result_text(&result);
        assert!(
            text.contains("Trip to Rome booked at $1200") && text.contains("window seat"),
            "{version:?}: {text}"
        );
        assert_eq!(
            messages(&client),
            [
                "Checking flights...",
                "Finding available dates...",
                "Confirming prices...",
                "Booking flight...",
                "Trip booked successfully"
            ],
            "{version:?}"
        );
        let values: Vec<f64> = client
            .progress_values()
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert_eq!(values, [0.0, 25.0, 50.0, 75.0, 100.0]);
        let question = &client.questions.lock().unwrap()[0];
        assert_eq!(
            question["message"],
            "Please confirm the estimated price of $1200 for your trip to Rome"
        );
        assert_eq!(question["requestedSchema"]["required"], json!(["confirm"]));
        assert_eq!(
            question["requestedSchema"]["properties"]["notes"]["default"],
            ""
        );
        assert_eq!(run["status"], "completed");
        assert_eq!(run["steps"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn travel_declined_or_unconfirmed_books_nothing() {
    for version in LEGACY {
        for answer in [
            ElicitAnswer::Decline,
            ElicitAnswer::Accept(json!({"confirm": false})),
        ] {
            let mut client = ScriptedClient::new(version.clone());
            client.elicit = answer.clone();
            let (result, client, run) = call(client, "travel_agent", json!({}), TEST_LIMIT).await;
            let text = result_text(&result);
            assert!(
                text.contains("Booking cancelled by user") && text.contains("Paris"),
                "{version:?} {answer:?}: {text}"
            );
            assert!(!text.contains("booked at"), "{text}");
            assert_eq!(
                messages(&client).last().map(String::as_str),
                Some("Booking cancelled by user")
            );
            assert_eq!(run["status"], "cancelled");
        }
    }
}

#[tokio::test]
async fn travel_cancel_error_and_silence_never_book() {
    for version in LEGACY {
        for (answer, expect, status, is_error) in [
            (ElicitAnswer::Cancel, "was dismissed", "cancelled", false),
            (
                ElicitAnswer::Error,
                "the client answered with an error",
                "failed",
                true,
            ),
            (
                ElicitAnswer::Silence,
                "no answer within the input timeout",
                "failed",
                true,
            ),
            (
                ElicitAnswer::Accept(json!({"notes": "no confirm field"})),
                "no boolean `confirm`",
                "failed",
                true,
            ),
        ] {
            let mut client = ScriptedClient::new(version.clone());
            client.elicit = answer.clone();
            let (result, client, run) = call(
                client,
                "travel_agent",
                json!({}),
                Duration::from_millis(400),
            )
            .await;
            let text = result_text(&result);
            assert!(text.contains(expect), "{version:?} {answer:?}: {text}");
            assert!(!text.contains("booked at"), "{text}");
            assert_eq!(result.is_error.unwrap_or(false), is_error, "{answer:?}");
            assert!(
                !messages(&client).iter().any(|m| m == "Booking flight..."),
                "{answer:?}"
            );
            assert_eq!(run["status"], status, "{answer:?}");
        }
    }
}

#[tokio::test]
async fn research_samples_a_summary() {
    for version in LEGACY {
        let (result, client, run) = call(
            ScriptedClient::new(version.clone()),
            "research_agent",
            json!({"topic": "quantum"}),
            TEST_LIMIT,
        )
        .await;
        let text = result_text(&result);
        assert!(
            text.contains("Research on quantum completed")
                && text.contains("Agents are everywhere."),
            "{text}"
        );
        assert_eq!(
            messages(&client),
            [
                "Gathering sources...",
                "Analyzing data...",
                "Summarizing findings...",
                "Finalizing report...",
                "Research completed successfully"
            ]
        );
        let question = &client.questions.lock().unwrap()[0];
        assert_eq!(question["maxTokens"], 100);
        assert_eq!(
            question["messages"][0]["content"]["text"],
            "Please summarize the key findings for research on: quantum"
        );
        assert_eq!(run["status"], "completed");
    }
}

#[tokio::test]
async fn research_error_and_silence_end_in_error_results() {
    for version in LEGACY {
        for (answer, expect) in [
            (SampleAnswer::Error, "answered with an error"),
            (SampleAnswer::Silence, "no answer within"),
        ] {
            let mut client = ScriptedClient::new(version.clone());
            client.sample = answer;
            let (result, _, run) = call(
                client,
                "research_agent",
                json!({}),
                Duration::from_millis(400),
            )
            .await;
            assert_eq!(result.is_error, Some(true));
            assert!(
                result_text(&result).contains(expect),
                "{}",
                result_text(&result)
            );
            assert_eq!(run["status"], "failed");
        }
    }
}

#[tokio::test]
async fn long_running_logs_every_step() {
    for version in LEGACY {
        let (result, client, run) = call(
            ScriptedClient::new(version.clone()),
            "long_running_agent",
            json!({"steps": 7}),
            TEST_LIMIT,
        )
        .await;
        assert!(result_text(&result).contains("Completed 7 steps"));
        // Log messages travel on the GET stream; give it a moment to drain.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while client.logs.lock().unwrap().len() < 7 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(client.logs.lock().unwrap().len(), 7, "{version:?}");
        let values: Vec<f64> = client
            .progress_values()
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert_eq!(values.len(), 7);
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "progress must increase: {values:?}"
        );
        assert_eq!(run["status"], "completed");
    }
}

#[tokio::test]
async fn clients_without_the_capability_are_never_asked() {
    for version in LEGACY {
        let mut client = ScriptedClient::new(version.clone());
        client.elicitation = false;
        client.sampling = false;
        let agents = start_agents(TEST_LIMIT).await;
        let probe = client.clone();
        let service = client.connect(&agents.url()).await;
        for (tool, capability) in [
            ("travel_agent", "elicitation"),
            ("research_agent", "sampling"),
        ] {
            let result = service
                .call_tool(CallToolRequestParams::new(tool))
                .await
                .unwrap();
            assert_eq!(result.is_error, Some(true));
            assert!(
                result_text(&result).contains(&format!("capability `{capability}`")),
                "{}",
                result_text(&result)
            );
        }
        assert!(
            probe.questions.lock().unwrap().is_empty(),
            "nothing may be asked"
        );
        assert!(probe.progress.lock().unwrap().is_empty());
        let _ = service.cancel().await;
        agents.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_tools_and_wrong_arguments_are_protocol_errors() {
    let agents = start_agents(TEST_LIMIT).await;
    let service = ScriptedClient::new(ProtocolVersion::V_2025_06_18)
        .connect(&agents.url())
        .await;
    let unknown = service
        .call_tool(CallToolRequestParams::new("teleport"))
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("unknown tool `teleport`"), "{unknown}");
    for (tool, args, expect) in [
        (
            "travel_agent",
            json!({"destination": 42}),
            "`destination` must be a string, got a number",
        ),
        (
            "research_agent",
            json!({"topic": ["a"]}),
            "`topic` must be a string, got an array",
        ),
        (
            "long_running_agent",
            json!({"steps": 0}),
            "`steps` must be an integer from 1 to 1000",
        ),
        (
            "travel_agent",
            json!({"dest": "Rome"}),
            "unknown argument `dest`",
        ),
    ] {
        let params =
            CallToolRequestParams::new(tool).with_arguments(args.as_object().cloned().unwrap());
        let error = service.call_tool(params).await.unwrap_err().to_string();
        assert!(error.contains(expect), "{tool}: {error}");
    }
    let _ = service.cancel().await;
    agents.shutdown().await;
}

#[tokio::test]
async fn runs_are_resources_and_subscribers_hear_of_changes() {
    let agents = start_agents(TEST_LIMIT).await;
    let mut caller = ScriptedClient::new(ProtocolVersion::V_2025_11_25);
    caller.elicit = ElicitAnswer::AcceptAfter(Duration::from_millis(500), json!({"confirm": true}));
    let caller = caller.connect(&agents.url()).await;
    let watcher = ScriptedClient::new(ProtocolVersion::V_2025_11_25);
    let heard = watcher.clone();
    let watcher = watcher.connect(&agents.url()).await;

    let call = tokio::spawn(async move {
        let result = caller
            .call_tool(CallToolRequestParams::new("travel_agent"))
            .await
            .unwrap();
        let _ = caller.cancel().await;
        result
    });
    // Find the run while it waits for the confirmation, and subscribe to it.
    let deadline = tokio::time::Instant::now() + TEST_LIMIT;
    let uri = loop {
        let listed = watcher.list_resources(None).await.unwrap();
        // The first run listed (the static resources are not runs).
        if let Some(resource) = listed
            .resources
            .iter()
            .find(|r| r.uri.starts_with("harness://runs/"))
        {
            break resource.uri.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never appeared"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    watcher
        .subscribe(rmcp::model::SubscribeRequestParams::new(uri.clone()))
        .await
        .unwrap();
    let result = call.await.unwrap();
    assert_eq!(run_uri(&result), uri);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !heard.updated.lock().unwrap().contains(&uri) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        heard.updated.lock().unwrap().contains(&uri),
        "no resources/updated for {uri}"
    );
    assert_eq!(read_run(&watcher, &uri).await["status"], "completed");

    let missing = watcher
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "harness://runs/nope",
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("no resource `harness://runs/nope`"),
        "{missing}"
    );
    let refused = watcher
        .subscribe(rmcp::model::SubscribeRequestParams::new(
            "harness://runs/nope",
        ))
        .await;
    assert!(refused.is_err(), "subscribing to an unknown run is refused");
    let _ = watcher.cancel().await;
    agents.shutdown().await;
}
