//! The target a command tests, and its profile, from the shared target options.

use super::*;

/// The target and its profile from the shared target options.
pub(super) fn target_and_profile(
    args: &TargetArgs,
) -> Result<(mcp_harness::run::Target, mcp_harness::profile::Profile), String> {
    use mcp_harness::profile::Profile;
    use mcp_harness::run::Target;
    let loaded = args
        .profile
        .as_deref()
        .map(Profile::load)
        .transpose()
        .map_err(|e| e.to_string())?;
    let from_profile = loaded.as_ref().and_then(|p| p.transport);
    let target = target_of_with(&args.server, from_profile)?;
    let profile = match (loaded, &target) {
        (Some(profile), _) => profile,
        (None, Target::Reference { .. } | Target::ReferenceStdio { .. }) => {
            Profile::reference_agents()
        }
        (None, _) => Profile::none("no profile (generic scenarios only)"),
    };
    Ok((target, profile))
}

/// The headers every HTTP request to `target` carries (`--header`,
/// `--bearer-token`), checked; a stdio target has no requests to carry them.
pub(super) fn target_headers(
    args: &ServerArgs,
    target: &mcp_harness::run::Target,
) -> Result<mcp_harness::target_headers::TargetHeaders, String> {
    use mcp_harness::target_headers::TargetHeaders;
    let token = args.bearer_token.as_ref().map(|t| t.0.as_str());
    let headers = TargetHeaders::parse(&args.headers, token).map_err(|e| e.to_string())?;
    if !headers.is_empty() && target.transport() == mcp_harness::scenario::Transport::Stdio {
        return Err(
            "--header and --bearer-token (or MCP_HARNESS_BEARER_TOKEN) are for HTTP targets: a stdio server gets no HTTP requests (hint: pass its credentials in its command or environment)"
                .to_owned(),
        );
    }
    Ok(headers)
}

/// The server to test from the shared server options, checked.
pub(super) fn target_of(args: &ServerArgs) -> Result<mcp_harness::run::Target, String> {
    target_of_with(args, None)
}

/// [`target_of`], with the transport a profile names (`--transport` wins).
pub(super) fn target_of_with(
    args: &ServerArgs,
    profile_transport: Option<mcp_harness::scenario::Transport>,
) -> Result<mcp_harness::run::Target, String> {
    use mcp_harness::run::Target;
    use mcp_harness::scenario::Transport;
    let server_url = args.server_url.as_deref();
    let server_cmd = args.server_cmd.as_deref();
    let transport = match args.transport {
        Some(TransportArg::Stdio) => Transport::Stdio,
        Some(TransportArg::Http) => Transport::Http,
        None => profile_transport.unwrap_or(Transport::Http),
    };
    if transport == Transport::Stdio {
        if let Some(url) = server_url {
            return Err(format!(
                "--server-url `{url}` is an HTTP server, but the transport is stdio (hint: give the command that starts the server with --server-cmd)"
            ));
        }
        return match server_cmd {
            Some(cmd) if cmd.contains("{port}") => Err(format!(
                "--server-cmd `{cmd}` has `{{port}}`, but a stdio server takes no port: it speaks on its stdin and stdout (hint: drop `{{port}}`, or use --transport http)"
            )),
            Some(cmd) => Ok(Target::StdioCommand {
                command: cmd.to_owned(),
            }),
            None => Ok(Target::ReferenceStdio {
                exe: std::env::current_exe().map_err(|e| e.to_string())?,
            }),
        };
    }
    if let Some(url) = server_url {
        if !url.starts_with("http://") {
            return Err(format!("--server-url `{url}` is not an http:// URL"));
        }
        if !args.allow_non_loopback && !is_loopback_url(url) {
            return Err(format!(
                "--server-url `{url}` is not on this machine's loopback (hint: pass --allow-non-loopback to test a server elsewhere)"
            ));
        }
    }
    if let Some(cmd) = server_cmd
        && !cmd.contains("{port}")
    {
        return Err(format!(
            "--server-cmd `{cmd}` has no `{{port}}` (hint: the harness picks the port, e.g. \"python server.py --port {{port}}\")"
        ));
    }
    let target = match (server_url, server_cmd) {
        (Some(url), _) => Target::Url(url.to_owned()),
        (None, Some(cmd)) => Target::Command {
            command: cmd.to_owned(),
            path: args.server_path.clone(),
        },
        (None, None) => Target::Reference {
            exe: std::env::current_exe().map_err(|e| e.to_string())?,
        },
    };
    Ok(target)
}

/// Whether `url` names a loopback host (127.0.0.0/8, ::1 or localhost).
pub(super) fn is_loopback_url(url: &str) -> bool {
    let Some(authority) = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
    else {
        return false;
    };
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
