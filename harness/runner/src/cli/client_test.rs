//! `mcp-harness client-test`: client scenarios against a client command.

use super::*;

/// `mcp-harness client-test`: run client scenarios against a client command.
pub(super) async fn client_test(args: ClientTestArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::client_test::{ClientLimits, load_client_dir, run_client_case_over};
    use mcp_harness::report::Summary;
    if let Some(dir) = args.scenarios.as_ref().filter(|d| !d.is_dir()) {
        eprintln!(
            "error: no client scenario directory `{}` (hint: leave --scenarios out for the built-in ones)",
            dir.display()
        );
        return Ok(Exit::Usage.into());
    }
    let baseline = match load_baseline(args.expected_failures.as_deref()) {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let (scenarios, errors) = match &args.scenarios {
        Some(dir) => load_client_dir(dir),
        None => mcp_harness::client_test::load_client_builtin(),
    };
    for error in &errors {
        eprintln!("error: {error}");
    }
    let cases = select_cases(&scenarios, &args.versions, &args.filters, |file| {
        (&file.id, &file.scenario.versions, file.scenario.tags())
    });
    if let Err(message) = check_versions(&args.versions) {
        eprintln!("error: {message}");
        return Ok(Exit::Usage.into());
    }
    if cases.is_empty() {
        eprintln!("error: no client scenario matches (hint: check the filters and --version)");
        return Ok(Exit::Usage.into());
    }
    let exe = std::env::current_exe()?;
    let limits = ClientLimits {
        start: Duration::from_secs(30),
        client: args.client_timeout,
    };
    let mut results = Vec::new();
    for (file, version) in cases {
        let transport = match args.transport {
            TransportArg::Http => mcp_harness::scenario::Transport::Http,
            TransportArg::Stdio => mcp_harness::scenario::Transport::Stdio,
        };
        results.push(
            run_client_case_over(file, &version, &args.client_cmd, &exe, limits, transport).await,
        );
    }
    let summary = Summary::of(&results, &baseline);
    emit_reports(&results, &summary, args.format, args.out.as_deref(), false)?;
    Ok(if !errors.is_empty() {
        Exit::Usage.into()
    } else if summary.passed() {
        Exit::Passed.into()
    } else {
        Exit::Failed.into()
    })
}
