//! Reports: every format a run writes (`emit_reports`), and the `report` and `check` commands, which read a stored run or transcript.

use super::*;

/// Print the report in `format`; with `out`, also write report.html, report.json, junit.xml,
/// the transcripts and (client tests) the clients' output there. With `live`
/// (as `run` does) the cases' readable lines were printed and their
/// transcripts written as they ended: only the rest is.
pub(super) fn emit_reports(
    results: &[mcp_harness::run::CaseResult],
    summary: &mcp_harness::report::Summary,
    format: Format,
    out: Option<&std::path::Path>,
    live: bool,
) -> anyhow::Result<()> {
    match format {
        Format::Human if live => out!("{}", mcp_harness::report::human_summary(summary)),
        Format::Human => out!("{}", mcp_harness::report::human(results, summary)),
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&mcp_harness::report::json_report(results, summary))?
        ),
        Format::Junit => outln!("{}", mcp_harness::report::junit(results, summary)),
    }
    if let Some(out) = out {
        std::fs::create_dir_all(out.join("transcripts"))?;
        std::fs::write(
            out.join("report.json"),
            serde_json::to_string_pretty(&mcp_harness::report::json_report(results, summary))?,
        )?;
        std::fs::write(
            out.join("junit.xml"),
            mcp_harness::report::junit(results, summary),
        )?;
        // The transcripts are in `results` even when `live` wrote them already.
        std::fs::write(
            out.join("report.html"),
            mcp_harness::html::render(results, summary),
        )?;
        for case in results {
            let name = case.name().replace('/', "__");
            if !live {
                std::fs::write(
                    out.join("transcripts").join(format!("{name}.jsonl")),
                    case.transcript.to_jsonl(),
                )?;
            }
            if let Some(output) = &case.client_output {
                std::fs::write(
                    out.join("transcripts").join(format!("{name}.client.txt")),
                    output,
                )?;
            }
        }
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// `mcp-harness report`: draw a stored run (an `--out` folder or one
/// transcript) as a self-contained HTML page.
pub(super) fn report(
    path: &std::path::Path,
    output: Option<&std::path::Path>,
    client: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = if path.is_dir() {
        if client {
            eprintln!(
                "error: --client is for a transcript file; a folder's report.json already holds its verdicts"
            );
            return Ok(Exit::Usage.into());
        }
        mcp_harness::stored_run::read_out_folder(path)
    } else {
        mcp_harness::stored_run::read_transcript(path, client)
    };
    let (cases, summary) = match loaded {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let output = match output {
        Some(output) => output.to_owned(),
        None if path.is_dir() => path.join("report.html"),
        None => path.with_extension("html"),
    };
    if let Err(e) = std::fs::write(&output, mcp_harness::html::render(&cases, &summary)) {
        eprintln!("error: cannot write `{}`: {e}", output.display());
        return Ok(Exit::Usage.into());
    }
    eprintln!(
        "wrote {} ({} cases, {} records)",
        output.display(),
        cases.len(),
        cases
            .iter()
            .map(|c| c.transcript.records.len())
            .sum::<usize>()
    );
    Ok(Exit::Passed.into())
}

pub(super) fn check(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let transcript = match mcp_harness::stored_run::parse_transcript(path) {
        Ok(transcript) => transcript,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let verdicts = mcp_harness_checks::judge(&transcript);
    let mut failed = false;
    for verdict in &verdicts {
        outln!(
            "{:<13} {} ({})",
            verdict.outcome.name(),
            verdict.check,
            verdict.citation
        );
        for finding in &verdict.findings {
            outln!(
                "              record {}: {}; expected {}",
                finding
                    .seq
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                finding.observed,
                finding.expected
            );
        }
        failed |= verdict.outcome == mcp_harness_checks::Outcome::Fail;
    }
    Ok(if failed {
        Exit::Failed.into()
    } else {
        Exit::Passed.into()
    })
}

/// `mcp-harness diff`: two stored runs compared.
pub(super) fn diff(
    old: &std::path::Path,
    new: &std::path::Path,
    format: DiffFormat,
) -> anyhow::Result<ExitCode> {
    let read = |path: &std::path::Path| mcp_harness::stored_run::read_report(path);
    let (before, after) = match (read(old), read(new)) {
        (Ok(before), Ok(after)) => (before, after),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage.into());
        }
    };
    let changes = mcp_harness::run_diff::diff(&before, &after);
    match format {
        DiffFormat::Human => out!("{}", mcp_harness::run_diff::human(&changes)),
        DiffFormat::Json => {
            let mut json = serde_json::to_value(&changes)?;
            json["regressed"] = serde_json::Value::Bool(changes.regressed());
            outln!("{}", serde_json::to_string_pretty(&json)?)
        }
    }
    Ok(if changes.regressed() {
        Exit::Failed.into()
    } else {
        Exit::Passed.into()
    })
}
