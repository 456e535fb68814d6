//! `mcp-harness run`: load and check the scenarios, pick the cases, check the target answers, play the cases (`mcp_harness::suite`), report.

use super::*;

/// The cases (scenario x version) that `versions` (all when empty) and
/// `filters` pick from `files`, described by `about` as (id, versions,
/// tags); a note on stderr for each filter that named a former id.
pub(super) fn select_cases<'a, T>(
    files: &'a [T],
    versions: &[String],
    filters: &[String],
    about: impl Fn(&'a T) -> (&'a String, &'a Vec<String>, Vec<&'static str>),
) -> Vec<(&'a T, String)> {
    let mut candidates = Vec::new();
    let mut names = Vec::new();
    for file in files {
        let (id, file_versions, tags) = about(file);
        for version in file_versions {
            if versions.is_empty() || versions.contains(version) {
                candidates.push((file, version.clone()));
                names.push((format!("{id}@{version}"), tags.clone()));
            }
        }
    }
    let (picked, notes) = mcp_harness::plan::pick(&names, filters);
    for note in notes {
        eprintln!("note: {note}");
    }
    picked
        .into_iter()
        .map(|index| candidates[index].clone())
        .collect()
}

/// The `--expected-failures` file, if one is given; its notes (lines that
/// name a scenario by a former id) go to stderr.
pub(super) fn load_baseline(
    path: Option<&std::path::Path>,
) -> Result<mcp_harness::report::Baseline, String> {
    let Some(path) = path else {
        return Ok(mcp_harness::report::Baseline::default());
    };
    let baseline = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| mcp_harness::report::Baseline::parse(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("--expected-failures `{}`: {e}", path.display()))?;
    for note in &baseline.notes {
        eprintln!("note: --expected-failures `{}`: {note}", path.display());
    }
    Ok(baseline)
}

/// `Err` naming the first of `versions` that is no MCP protocol version.
pub(super) fn check_versions(versions: &[String]) -> Result<(), String> {
    let known = mcp_harness_checks::analysis::KNOWN_VERSIONS;
    match versions.iter().find(|v| !known.contains(&v.as_str())) {
        Some(bad) => Err(format!(
            "--version `{bad}` is no MCP protocol version (hint: one of {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Take out the scenarios with a fault that selects a tool none of their
/// calls makes with `profile` (by name, or through the role it binds): an
/// error each, naming the file and line, as a malformed file is.
pub(super) fn faults_that_cannot_fire(
    scenarios: &mut Vec<mcp_harness::scenario::ScenarioFile>,
    profile: &mcp_harness::profile::Profile,
) -> Vec<mcp_harness::scenario::ScenarioError> {
    use mcp_harness::scenario::{Role, ScenarioError, faults::tools_never_called};
    let bound = |name: &str| {
        Role::parse(name)
            .and_then(|role| profile.roles.get(&role))
            .map(|binding| binding.tool.clone())
    };
    let mut errors = Vec::new();
    scenarios.retain(|file| {
        let never = tools_never_called(&file.scenario.faults, &file.scenario.steps, bound);
        let Some(first) = never.first() else {
            return true;
        };
        // The line of the first `[[faults]]` table, where the file can be read.
        let line = std::fs::read_to_string(&file.path)
            .ok()
            .and_then(|text| {
                text.lines()
                    .position(|l| l.trim() == "[[faults]]")
                    .map(|at| at + 1)
            })
            .unwrap_or(0);
        let known = errors
            .iter()
            .any(|e: &ScenarioError| e.path == file.path.display().to_string());
        if !known {
            errors.push(ScenarioError {
                path: file.path.display().to_string(),
                line,
                column: 1,
                message: format!("{first} (profile `{}`)", profile.name),
            });
        }
        false
    });
    errors
}

/// A note on stderr per deprecated form a scenario file uses (once per file).
pub(super) fn print_deprecations(scenarios: &[mcp_harness::scenario::ScenarioFile]) {
    let mut seen = std::collections::BTreeSet::new();
    for file in scenarios {
        if seen.insert(&file.path) {
            for note in &file.scenario.notes {
                eprintln!("note: {}: {note}", file.path.display());
            }
        }
    }
}

/// The scenarios of a run: the built-in ones, or those of `replace`, plus
/// those of each `add` folder (an id already taken is an error).
pub(super) fn load_scenarios(
    replace: Option<&std::path::Path>,
    add: &[std::path::PathBuf],
) -> Result<
    (
        Vec<mcp_harness::scenario::ScenarioFile>,
        Vec<mcp_harness::scenario::ScenarioError>,
    ),
    String,
> {
    use mcp_harness::scenario::{load_builtin, load_dir};
    for dir in replace.into_iter().chain(add.iter().map(|d| d.as_path())) {
        if !dir.is_dir() {
            return Err(format!(
                "no scenario directory `{}` (hint: `mcp-harness scenarios export DIR` writes the built-in ones out to start from)",
                dir.display()
            ));
        }
    }
    let (mut scenarios, mut errors) = match replace {
        Some(dir) => load_dir(dir),
        None => load_builtin(),
    };
    for dir in add {
        let (more, more_errors) = load_dir(dir);
        errors.extend(more_errors);
        for scenario in more {
            if let Some(taken) = scenarios.iter().find(|s| s.id == scenario.id) {
                return Err(format!(
                    "`{}` has the id `{}` of `{}` (hint: rename it, or --scenarios DIR to replace the built-in set)",
                    scenario.path.display(),
                    scenario.id,
                    taken.path.display()
                ));
            }
            scenarios.push(scenario);
        }
    }
    Ok((scenarios, errors))
}

pub(super) async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    use mcp_harness::report::Summary;
    use mcp_harness::run::Limits;

    let usage = |message: String| {
        eprintln!("error: {message}");
        Ok(Exit::Usage.into())
    };
    // A server's address written where filters go would run the built-in
    // agents, filtered by a string no case contains.
    if let Some(url) = args
        .filters
        .iter()
        .find(|f| f.starts_with("http://") || f.starts_with("https://"))
    {
        return usage(format!(
            "`{url}` is read as a scenario filter (hint: --server-url {url} tests the server there)"
        ));
    }
    let (target, profile) = match target_and_profile(&args.target) {
        Ok(chosen) => chosen,
        Err(message) => return usage(message),
    };
    let headers = match target_headers(&args.target.server, &target) {
        Ok(headers) => headers,
        Err(message) => return usage(message),
    };
    let baseline = match load_baseline(args.expected_failures.as_deref()) {
        Ok(baseline) => baseline,
        Err(e) => return usage(e),
    };
    let (mut scenarios, mut errors) =
        match load_scenarios(args.scenarios.as_deref(), &args.add_scenarios) {
            Ok(loaded) => loaded,
            Err(message) => return usage(message),
        };
    errors.extend(faults_that_cannot_fire(&mut scenarios, &profile));
    for error in &errors {
        eprintln!("error: {error}");
    }
    print_deprecations(&scenarios);
    let cases = select_cases(&scenarios, &args.versions, &args.filters, |s| {
        (&s.id, &s.scenario.versions, s.scenario.tags())
    });
    if let Err(message) = check_versions(&args.versions) {
        eprintln!("error: {message}");
        return Ok(Exit::Usage.into());
    }
    if cases.is_empty() {
        return usage("no scenario matches (hint: check the filters and --version)".into());
    }
    let limits = Limits {
        start: args.start_timeout,
        case: args.case_timeout,
        call: args.call_timeout,
        records: mcp_harness_chaos::RecordLimits {
            max_records: args.max_records,
            max_bytes: args.max_record_mb << 20,
        },
        max_event_bytes: args.max_event_kb << 10,
    };
    let live = mcp_harness::progress::LiveProgress::new(
        cases.len(),
        matches!(args.format, Format::Human),
        args.conformance_only,
    );
    // One request first: a target that never answers fails every case with
    // that cause, at once, instead of each case waiting out its time limits.
    let first_version = cases[0].1.clone();
    if let Err(cause) =
        mcp_harness::run::preflight(&target, &headers, &first_version, args.start_timeout).await
    {
        let hint = match &target {
            mcp_harness::run::Target::Url(_) => "is the server up, on that URL?",
            mcp_harness::run::Target::StdioCommand { .. } => {
                "does the command speak MCP on its stdin and stdout?"
            }
            _ => "does the command serve MCP on {port}?",
        };
        eprintln!(
            "error: {cause}\nerror: every case fails without being run (hint: {hint} --start-timeout sets the wait)"
        );
        let results: Vec<_> = cases
            .iter()
            .map(|(scenario, version)| {
                mcp_harness::run::CaseResult::not_run(
                    &scenario.id,
                    version,
                    format!("not run: the pre-flight request failed: {cause}"),
                )
            })
            .collect();
        let summary = Summary::of(&results, &baseline);
        emit_reports(&results, &summary, args.format, args.out.as_deref(), false)?;
        return Ok(Exit::Failed.into());
    }
    // With --out, each case's transcript is written as it happens.
    let transcripts = args.out.as_ref().map(|out| out.join("transcripts"));
    if let Some(dir) = &transcripts {
        std::fs::create_dir_all(dir)?;
    }
    let options = mcp_harness::suite::SuiteOptions {
        jobs: args.jobs,
        keep_going: args.keep_going,
        start_timeout: args.start_timeout,
        limits,
        transcripts,
        headers,
    };
    let notes = |line: String| eprintln!("{line}");
    let results = mcp_harness::suite::run_suite(
        &cases, &target, &profile, &options, &live, &baseline, &notes,
    )
    .await;
    live.finish();
    let mut summary = Summary::of(&results, &baseline);
    if args.conformance_only {
        summary.ignore_resilience();
    }
    emit_reports(&results, &summary, args.format, args.out.as_deref(), true)?;
    if let Some(dir) = &args.snapshots {
        let changed = mcp_harness::snapshot::write_snapshots(dir, &results)?;
        eprintln!(
            "snapshots in {}: {changed} new or changed (.snap.new; review with `cargo insta review --workspace-root {}`)",
            dir.display(),
            dir.display()
        );
    }
    Ok(if !errors.is_empty() {
        Exit::Usage.into()
    } else if summary.passed() {
        Exit::Passed.into()
    } else {
        Exit::Failed.into()
    })
}
