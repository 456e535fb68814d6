//! `mcp-harness proxy`: the recording chaos proxy in front of a server.

use super::*;

pub(super) async fn proxy(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    if !args.allow_non_loopback && !is_loopback_url(&args.upstream) {
        eprintln!(
            "error: upstream `{}` is not on this machine's loopback (hint: pass --allow-non-loopback if you really mean to send chaos to another host)",
            args.upstream
        );
        return Ok(Exit::Usage.into());
    }
    let mut rules = Vec::new();
    for (at, text) in args.faults.iter().enumerate() {
        match serde_json::from_str::<mcp_harness_chaos::FaultRule>(text) {
            Ok(rule) if rule.select.role.is_some() => {
                eprintln!(
                    "error: --fault #{} selects by `role`, which needs a target profile: the proxy has none (hint: name the tool, \"select\":{{\"tool\":\"my_tool\"}})",
                    at + 1
                );
                return Ok(Exit::Usage.into());
            }
            Ok(rule) => rules.push(rule),
            Err(e) => {
                eprintln!(
                    "error: --fault #{} is not a fault rule: {e} (hint: {{\"fault\":\"cut\",\"after\":2,\"select\":{{\"tool\":\"travel_agent\"}}}})",
                    at + 1
                );
                return Ok(Exit::Usage.into());
            }
        }
    }
    let mut config = mcp_harness_chaos::StackConfig::new(&args.upstream);
    config.listen = args.listen;
    config.api = Some(args.api);
    config.record = args.record.clone();
    config.remote = args.toxiproxy_url.clone();
    let stack = match mcp_harness_chaos::ChaosStack::start(config).await {
        Ok(stack) => stack,
        Err(mcp_harness_chaos::StackError::BadUpstream(url)) => {
            eprintln!("error: upstream `{url}` is not an http://host:port URL");
            return Ok(Exit::Usage.into());
        }
        Err(e) => return Err(e.into()),
    };
    for rule in rules {
        stack.add_fault(rule);
    }
    eprintln!(
        "recording proxy on {} -> {}",
        stack.base_url(),
        args.upstream
    );
    match (stack.api_addr(), &args.toxiproxy_url) {
        (Some(api), _) => eprintln!("toxiproxy API on http://{api} (proxy name `mcp`)"),
        (None, Some(url)) => eprintln!("TCP toxics on the Toxiproxy at {url} (proxy name `mcp`)"),
        _ => {}
    }
    if let Some(path) = &args.record {
        eprintln!("transcript to {}", path.display());
    }
    eprintln!("Ctrl-C stops");
    let _ = tokio::signal::ctrl_c().await;
    stack.recorder().flush();
    stack.shutdown().await;
    Ok(Exit::Passed.into())
}
