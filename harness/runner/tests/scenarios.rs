//! Every scenario x version against the reference agents, one test case each
//! (libtest-mimic), and again over stdio (`ID@VERSION+stdio`, against
//! `mcp-harness serve --stdio`) for the scenarios whose `transports` name it:
//! `cargo test --test scenarios -- elicitation/accept` filters,
//! `cargo nextest run` lists, runs and shards them. Each case must break no
//! rule (MUST or SHOULD), fire every fault it declares, and its normalized transcript must match its snapshot under
//! snapshots/ (`cargo insta review` shows any difference). Minimal fault
//! schedules written by `mcp-harness explore` (`explored_*.toml`) have no
//! snapshot (`snapshot = false`): the checks judge them. One more case,
//! `scenario-folders-are-spec-areas`, holds every scenario to `cites` and to
//! the folder of its first cited check's spec area.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use mcp_harness::pool::ServerPool;
use mcp_harness::profile::Profile;
use mcp_harness::run::{Limits, Target, run_case, run_case_in};
use mcp_harness::target_headers::TargetHeaders;

/// The token the reference agents require in the scenarios of a protected
/// server (a fixed test value: it guards nothing).
const PROTECTED_TOKEN: &str = "mcp-harness-scenario-token";
use mcp_harness::scenario::{ScenarioFile, Transport, load_dir};
use mcp_harness::snapshot::normalize;

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn main() {
    let args = Arguments::from_args();
    let (scenarios, errors) = load_dir(&root().join("scenarios"));
    let mut trials = Vec::new();
    if !errors.is_empty() {
        let message: Vec<String> = errors.iter().map(ToString::to_string).collect();
        trials.push(Trial::test("scenario-files-parse", move || {
            Err(Failed::from(message.join("\n")))
        }));
    }
    trials.push(folders_are_spec_areas(&scenarios));
    for scenario in scenarios {
        let over_stdio = scenario.scenario.transports.contains(&Transport::Stdio);
        let over_http = scenario.scenario.transports.contains(&Transport::Http);
        for version in scenario.scenario.versions.clone() {
            for stdio in [false, true] {
                if (stdio && !over_stdio) || (!stdio && !over_http) {
                    continue;
                }
                trials.push(trial(scenario.clone(), version.clone(), stdio));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Every scenario names the checks it exercises (`cites`) and sits in the
/// folder of its first one's spec area, a room of `checks/src/rules/`.
fn folders_are_spec_areas(scenarios: &[ScenarioFile]) -> Trial {
    let misplaced: Vec<String> = scenarios
        .iter()
        .filter_map(|s| {
            let folder = s.id.split('/').next().unwrap_or_default();
            match s.scenario.area() {
                None => Some(format!("{}: no `cites`", s.id)),
                Some(area) if area != folder => Some(format!(
                    "{}: cites `{}` first, of spec area `{area}`, but sits in `{folder}/`",
                    s.id, s.scenario.cites[0]
                )),
                Some(_) => None,
            }
        })
        .collect();
    Trial::test("scenario-folders-are-spec-areas", move || {
        if misplaced.is_empty() {
            Ok(())
        } else {
            Err(Failed::from(misplaced.join("\n")))
        }
    })
}

/// One case: `scenario` under `version` against the reference agents, over
/// stdio when `stdio`.
fn trial(scenario: ScenarioFile, version: String, stdio: bool) -> Trial {
    let suffix = if stdio { "+stdio" } else { "" };
    let name = format!("{}@{version}{suffix}", scenario.id);
    Trial::test(name.clone(), move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_mcp-harness"));
        let case = if scenario.scenario.needs_credentials {
            // A scenario of a protected server: the reference agents behind
            // a fixed token, and the run carrying it.
            let target = Target::Command {
                command: format!(
                    "{} serve --listen 127.0.0.1:{{port}} --time-scale 0 --input-timeout 60s --require-token {PROTECTED_TOKEN}",
                    exe.display()
                ),
                path: "/mcp".into(),
            };
            let headers =
                TargetHeaders::parse(&[], Some(PROTECTED_TOKEN)).map_err(|e| e.to_string())?;
            let limits = Limits::default();
            let pool = ServerPool::single(&target, limits.start).with_headers(headers);
            runtime.block_on(run_case_in(
                &scenario,
                &version,
                &pool,
                &Profile::reference_agents(),
                limits,
                None,
            ))
        } else {
            let target = if stdio {
                Target::ReferenceStdio { exe }
            } else {
                Target::Reference { exe }
            };
            runtime.block_on(run_case(
                &scenario,
                &version,
                &target,
                &Profile::reference_agents(),
                Limits::default(),
            ))
        };
        if let Some(reason) = &case.skipped {
            return Err(Failed::from(format!(
                "skipped against the reference agents: {reason}"
            )));
        }
        let warned = case
            .verdicts
            .iter()
            .any(|v| v.outcome == mcp_harness_checks::Outcome::Warn);
        // The reference agents keep every rule, SHOULDs included, and
        // never lose a call a fault hit (resilience, as `run` judges it).
        // And every fault a scenario declares fires against them: a chaos
        // case whose fault never fired tested nothing.
        if case.failed() || warned || case.lost_a_call() || !case.unexercised.is_empty() {
            let mut report = format!("{name} failed");
            for fault in &case.unexercised {
                report.push_str(&format!(
                    "\n  fault not exercised: {} [record {}]",
                    fault.reason, fault.seq
                ));
            }
            if case.lost_a_call() {
                report.push_str(&format!("\n  resilience: {:?}", case.resilience));
            }
            if let Some(error) = &case.error {
                report.push_str(&format!("\n  error: {error}"));
            }
            for verdict in case.verdicts.iter().filter(|v| {
                matches!(
                    v.outcome,
                    mcp_harness_checks::Outcome::Fail | mcp_harness_checks::Outcome::Warn
                )
            }) {
                for finding in &verdict.findings {
                    report.push_str(&format!(
                        "\n  {} ({}): {} (expected {})",
                        verdict.check, verdict.citation, finding.observed, finding.expected
                    ));
                }
            }
            let dump =
                std::env::temp_dir().join(format!("mcp-harness-{}.jsonl", name.replace('/', "__")));
            if std::fs::write(&dump, case.transcript.to_jsonl()).is_ok() {
                report.push_str(&format!("\n  transcript: {}", dump.display()));
            }
            report.push_str(&format!(
                "\n--- transcript ---\n{}",
                normalize(&case.transcript)
            ));
            return Err(Failed::from(report));
        }
        if !scenario.scenario.snapshot {
            // Concurrent calls interleave as timing has it: judged by the checks alone.
            return Ok(());
        }
        let snapshot = normalize(&case.transcript);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(scenario.scenario.description.clone());
        let snapshot_name = name.replace('/', "__");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(snapshot_name, snapshot));
        }));
        outcome.map_err(|_| Failed::from(format!("{name}: the normalized transcript differs from snapshots/{}.snap (run `cargo insta review`)", name.replace('/', "__"))))
    })
}
