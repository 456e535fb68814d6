//! `mcp-harness scenarios` (list the built-in scenarios, or export them to
//! edit) and `mcp-harness schema` (the JSON Schema of scenario files).

use super::*;

/// `scenarios list` or `scenarios export DIR`.
pub(super) fn scenarios(command: ScenariosCommand) -> ExitCode {
    match command {
        ScenariosCommand::List => list(),
        ScenariosCommand::Export { dir, force } => {
            match mcp_harness::builtin::export(&dir, force) {
                Ok(n) => {
                    eprintln!(
                        "wrote {n} files to {} (run them with `mcp-harness run --scenarios {}`)",
                        dir.display(),
                        dir.display()
                    );
                    Exit::Passed.into()
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Exit::Usage.into()
                }
            }
        }
    }
}

/// Every built-in scenario, a line each: id (spec area first), versions,
/// tags and description; client scenarios last.
fn list() -> ExitCode {
    let (scenarios, errors) = mcp_harness::scenario::load_builtin();
    let (clients, client_errors) = mcp_harness::client_test::load_client_builtin();
    for error in errors.iter().chain(&client_errors) {
        eprintln!("error: {error}");
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in &scenarios {
        // A role-expanded scenario is one file.
        let id = s.id.split('.').next().unwrap_or(&s.id);
        if seen.insert(id.to_owned()) {
            outln!(
                "{id:<40} {:<36} {:<16} {}",
                s.scenario.versions.join(","),
                s.scenario.tags().join(","),
                s.scenario.description
            );
        }
    }
    for c in &clients {
        outln!(
            "{:<40} {:<36} {:<16} {} (client-test)",
            c.id,
            c.scenario.versions.join(","),
            c.scenario.tags().join(","),
            c.scenario.description
        );
    }
    Exit::Passed.into()
}

/// The JSON Schema of scenario files, on stdout.
pub(super) fn schema() -> ExitCode {
    outln!(
        "{}",
        serde_json::to_string_pretty(&mcp_harness::scenario::json_schema()).unwrap_or_default()
    );
    Exit::Passed.into()
}
