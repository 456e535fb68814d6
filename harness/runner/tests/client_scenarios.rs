//! Every client scenario x version with the reference host as the client under
//! test, one test case each (libtest-mimic): `cargo test --test client_scenarios
//! -- travel` filters, `cargo nextest run` lists, runs and shards them. Each case
//! must break no client rule, and its verdict table (check -> outcome) must match
//! its insta snapshot under snapshots/client/, so a change in what the host
//! does (or what the checks see) shows as a reviewable diff. Transcripts are not
//! snapshotted here: a client's polling and retries are timed, not scripted.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use mcp_harness::client_test::{ClientLimits, load_client_dir, run_client_case};

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn main() {
    let args = Arguments::from_args();
    let (scenarios, errors) = load_client_dir(&root().join("scenarios/client"));
    let mut trials = Vec::new();
    if !errors.is_empty() {
        let message: Vec<String> = errors.iter().map(ToString::to_string).collect();
        trials.push(Trial::test("client-scenario-files-parse", move || {
            Err(Failed::from(message.join("\n")))
        }));
    }
    for file in scenarios {
        for version in file.scenario.versions.clone() {
            let file = file.clone();
            let name = format!("{}@{version}", file.id);
            trials.push(Trial::test(name.clone(), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let exe = PathBuf::from(env!("CARGO_BIN_EXE_mcp-harness"));
                let client = format!("{} host", exe.display());
                let case = runtime.block_on(run_client_case(
                    &file,
                    &version,
                    &client,
                    &exe,
                    ClientLimits::default(),
                ));
                if let Some(reason) = &case.skipped {
                    return Err(Failed::from(format!("skipped: {reason}")));
                }
                if case.failed() {
                    let mut report = format!("{name} failed");
                    for verdict in case.verdicts.iter().filter(|v| {
                        matches!(v.outcome, mcp_harness_checks::Outcome::Fail)
                    }) {
                        report.push_str(&format!("\n  {}: {:?}", verdict.check, verdict.findings));
                    }
                    report.push_str(&format!("\n{}", case.client_output.unwrap_or_default()));
                    return Err(Failed::from(report));
                }
                let table: String = case
                    .verdicts
                    .iter()
                    .map(|v| format!("{:<36} {}\n", v.check, v.outcome.name()))
                    .collect();
                let mut settings = insta::Settings::clone_current();
                settings.set_snapshot_path(root().join("snapshots/client"));
                settings.set_prepend_module_to_snapshot(false);
                settings.set_omit_expression(true);
                settings.set_description(file.scenario.description.clone());
                let snapshot_name = name.replace('/', "__");
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    settings.bind(|| insta::assert_snapshot!(snapshot_name.clone(), table));
                }));
                outcome.map_err(|_| {
                    Failed::from(format!(
                        "{name}: the verdicts differ from snapshots/client/{snapshot_name}.snap (run `cargo insta review`)"
                    ))
                })
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
