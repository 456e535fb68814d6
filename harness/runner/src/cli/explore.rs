//! `mcp-harness explore`: random fault schedules, shrunk to a scenario file on a failure.

use super::*;

/// `mcp-harness explore`: property-based search over fault schedules.
pub(super) async fn explore(args: ExploreArgs) -> anyhow::Result<ExitCode> {
    let (target, profile) = match target_and_profile(&args.target) {
        Ok(chosen) => chosen,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(Exit::Usage.into());
        }
    };
    let headers = match target_headers(&args.target.server, &target) {
        Ok(headers) => headers,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(Exit::Usage.into());
        }
    };
    let versions = if args.versions.is_empty() {
        vec![
            "2025-06-18".into(),
            "2025-11-25".into(),
            "2026-07-28".into(),
        ]
    } else {
        args.versions.clone()
    };
    let limits = mcp_harness::run::Limits {
        start: args.start_timeout,
        case: args.case_timeout,
        call: args.case_timeout,
        ..mcp_harness::run::Limits::default()
    };
    let out = args.out.clone();
    let cases = args.cases;
    let found = match tokio::task::spawn_blocking(move || {
        mcp_harness::explore::explore(&target, &headers, &profile, versions, cases, limits, &out)
    })
    .await?
    {
        Ok(found) => found,
        Err(e @ mcp_harness::explore::ExploreError::NoFlows(_)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
        Err(e) => return Err(e.into()),
    };
    let (skipped, why_skipped) = &found.skipped;
    if *skipped > 0 && found.failure.is_none() {
        let why = why_skipped.as_deref().unwrap_or("no reason given");
        if *skipped == found.runs {
            eprintln!(
                "error: every one of the {skipped} fault schedules was skipped, so nothing was tested: {why}"
            );
            return Ok(Exit::Usage.into());
        }
        eprintln!(
            "note: {skipped} of {} fault schedules were skipped ({why})",
            found.runs
        );
    }
    match found.failure {
        None => {
            outln!(
                "no check failed in {} fault schedules ({} asked for{})",
                found.runs - skipped,
                cases,
                if *skipped > 0 {
                    format!(", {skipped} skipped")
                } else {
                    String::new()
                }
            );
            Ok(Exit::Passed.into())
        }
        Some((schedule, why, path)) => {
            outln!(
                "a check failed after {} schedule runs (shrinking included)",
                found.runs
            );
            outln!("minimal schedule: {schedule:?}");
            outln!("why: {why}");
            outln!(
                "wrote {} (run it with `mcp-harness run --scenarios {}`)",
                path.display(),
                path.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            Ok(Exit::Failed.into())
        }
    }
}
