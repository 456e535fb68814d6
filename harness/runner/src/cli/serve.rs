//! `mcp-harness serve`: the reference agents over HTTP or stdio.

use super::*;

pub(super) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store_note = match &args.store {
        StoreChoice::Memory => "in memory (nothing survives a restart)".to_owned(),
        StoreChoice::Sqlite(path) => format!("in {}", path.display()),
    };
    if args.stdio {
        let settings = AgentSettings {
            time_scale: args.time_scale,
            input_timeout: args.input_timeout,
        };
        eprintln!("reference agents on stdio (state {store_note}); closing stdin stops them");
        mcp_harness_agents::serve_stdio(settings, args.store).await?;
        return Ok(Exit::Passed.into());
    }
    let protected = if args.require_token.is_some() {
        "; requests need the bearer token"
    } else {
        ""
    };
    let agents = mcp_harness_agents::serve(ServeConfig {
        listen: args.listen,
        settings: AgentSettings {
            time_scale: args.time_scale,
            input_timeout: args.input_timeout,
        },
        store: args.store,
        max_body_bytes: args.max_body_bytes,
        sse_retry: args.sse_retry,
        extra_hosts: args.allow_hosts,
        extra_origins: args.allow_origins,
        bearer_token: args
            .require_token
            .map(|t| mcp_harness_agents::BearerToken(t.0)),
        ..ServeConfig::default()
    })
    .await?;
    eprintln!(
        "reference agents on {} (tools: travel_agent, research_agent, long_running_agent, itinerary_agent; state {store_note}{protected}); Ctrl-C stops",
        agents.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping");
    agents.shutdown().await;
    Ok(Exit::Passed.into())
}
