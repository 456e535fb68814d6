//! `mcp-harness profile`: a starter profile from the tools a server lists.

use super::*;

/// `mcp-harness profile`: list a server's tools and print a starter profile.
pub(super) async fn profile(args: ProfileArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::run::Target;
    if let Err(e) = check_versions(std::slice::from_ref(&args.version)) {
        eprintln!("error: {e}");
        return Ok(Exit::Usage.into());
    }
    if let Some(out) = args.out.as_ref().filter(|o| o.exists() && !args.force) {
        eprintln!(
            "error: `{}` exists (hint: --force overwrites it)",
            out.display()
        );
        return Ok(Exit::Usage.into());
    }
    let target = match target_of(&args.server) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let headers = match target_headers(&args.server, &target) {
        Ok(headers) => headers,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let source = match &target {
        Target::Url(url) => url.clone(),
        Target::Command { command, .. } => format!("started with `{command}`"),
        Target::Reference { .. } => "the built-in reference agents".to_owned(),
        Target::StdioCommand { command } => format!("started with `{command}` (stdio)"),
        Target::ReferenceStdio { .. } => "the built-in reference agents (stdio)".to_owned(),
    };
    let (opened, url) = match mcp_harness::run::open_target(&target, args.start_timeout).await {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Failed.into());
        }
    };
    let listed = list_tools_of(&url, &headers, &args.version, args.start_timeout).await;
    opened.close().await;
    let (server, tools) = match listed {
        Ok(listed) => listed,
        Err(e) => {
            eprintln!("error: {source}: {e}");
            return Ok(Exit::Failed.into());
        }
    };
    let mut text = mcp_harness::starter_profile::render(&server, &source, &tools);
    if target.transport() == mcp_harness::scenario::Transport::Stdio {
        // The profile says how to reach the server, so `run --profile` needs no --transport.
        let after_name = text
            .find("\nname = ")
            .and_then(|at| text[at + 1..].find('\n').map(|end| at + 1 + end + 1));
        if let Some(at) = after_name {
            text.insert_str(at, "transport = \"stdio\"\n");
        }
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?;
            eprintln!(
                "wrote {} ({} tools); confirm its roles, then: mcp-harness run ... --profile {}",
                path.display(),
                tools.len(),
                path.display()
            );
        }
        None => out!("{text}"),
    }
    Ok(Exit::Passed.into())
}

/// The server's name and every tool it lists (all pages), asked in `version`.
pub(super) async fn list_tools_of(
    url: &str,
    headers: &mcp_harness::target_headers::TargetHeaders,
    version: &str,
    limit: Duration,
) -> Result<(String, Vec<serde_json::Value>), String> {
    use mcp_harness::client::ScriptedClient;
    let mut client = ScriptedClient::new(url, version, Default::default(), serde_json::json!({}));
    client.set_headers(headers);
    client.set_call_limit(limit);
    let answer = client
        .connect()
        .await
        .map_err(|e| format!("no answer to the first request: {e}"))?;
    let Some(result) = answer.get("result") else {
        return Err(format!(
            "the first request (in {version}) was refused: {} (hint: --version another version)",
            answer.get("error").unwrap_or(&answer)
        ));
    };
    if result.pointer("/capabilities/tools").is_none() {
        return Err("the server declares no tools capability: there is nothing to profile".into());
    }
    let server = result
        .pointer("/serverInfo/name")
        .or_else(|| result.pointer("/_meta/io.modelcontextprotocol~1serverInfo/name"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("my-server")
        .to_owned();
    let listing = mcp_harness::discovery::list_all(&mut client, "tools/list", "tools").await;
    if let Some(why) = &listing.stopped {
        if listing.items.is_empty() {
            return Err(format!("tools/list: {why}"));
        }
        eprintln!("warning: the listing stopped early: {why}");
    }
    let _ = client.delete_session().await;
    Ok((server, listing.items))
}
