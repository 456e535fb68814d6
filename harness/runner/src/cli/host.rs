//! `mcp-harness host`: the reference host, an MCP client for people and scripts.

use super::*;

/// `mcp-harness host`: the reference host.
pub(super) async fn host(args: HostArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::host::{HostOptions, run_host, tool_for_scenario};
    use mcp_harness::scenario::ElicitationAnswer;
    let Some(url) = args.url.clone().or(args.endpoint.clone()) else {
        eprintln!("error: no endpoint (hint: mcp-harness host http://127.0.0.1:8006/mcp)");
        return Ok(Exit::Usage.into());
    };
    let arguments: serde_json::Value = match serde_json::from_str(&args.arguments) {
        Ok(value) => value,
        Err(e) => {
            eprintln!("error: --arguments is not JSON: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let tool = match args.tool.as_deref() {
        Some("travel") => "travel_agent".to_owned(),
        Some("research") => "research_agent".to_owned(),
        Some("long_running") => "long_running_agent".to_owned(),
        Some(name) => name.to_owned(),
        None => tool_for_scenario(&scenario).to_owned(),
    };
    let version = args
        .version
        .clone()
        .or_else(|| std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").ok())
        .unwrap_or_else(|| "2025-11-25".into());
    let interactive =
        args.ask || (args.answer.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin()));
    let answer = match args.answer.as_deref().unwrap_or("accept") {
        "decline" => ElicitationAnswer::Decline,
        "cancel" => ElicitationAnswer::Cancel,
        _ => ElicitationAnswer::Accept { content: None },
    };
    let options = HostOptions {
        url,
        version,
        tool,
        arguments,
        answer,
        sample_text: args.sample_text.clone(),
        token_file: args.token_file.clone(),
        timeout: args.timeout,
        misbehave: args.misbehave.clone(),
        tasks: args.tasks || scenario.contains("tasks"),
        interactive,
        sample_cmd: args.sample_cmd.clone(),
    };
    let outcome = match run_host(&options).await {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Failed.into());
        }
    };
    let is_error = outcome
        .call
        .result
        .as_ref()
        .and_then(|r| r.get("isError"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    match (
        &outcome.call.result,
        &outcome.call.error,
        &outcome.call.gave_up,
    ) {
        (Some(_), _, _) if !is_error => Ok(Exit::Passed.into()),
        (Some(_), _, _) => Ok(Exit::Failed.into()),
        (None, Some(error), _) => {
            eprintln!("error: the server answered {error}");
            Ok(Exit::Failed.into())
        }
        (None, None, why) => {
            eprintln!("error: no result: {}", why.as_deref().unwrap_or("unknown"));
            Ok(Exit::Failed.into())
        }
    }
}
