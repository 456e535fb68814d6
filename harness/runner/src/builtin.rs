//! The built-in scenarios, compiled into the binary (see `build.rs`): what
//! `run` and `client-test` use unless `--scenarios DIR` replaces them, and what
//! `mcp-harness scenarios export DIR` writes out for editing.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/builtin_scenarios.rs"));

/// How the built-in files are named in messages (`(built-in)/elicitation/accept.toml`).
pub const ORIGIN: &str = "(built-in)";

/// The built-in files under `scenarios/` whose path starts with `prefix`
/// (`""` for all), as (path shown in messages, text).
pub fn files_under(prefix: &str) -> Vec<(PathBuf, &'static str)> {
    FILES
        .iter()
        .filter(|(path, _)| path.starts_with(prefix) && path.ends_with(".toml"))
        .map(|(path, text)| (Path::new(ORIGIN).join(path), *text))
        .collect()
}

/// Why the built-in scenarios could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Files of that name exist already (nothing was written).
    #[error("{} file(s) exist already in `{dir}`, e.g. `{first}` (nothing was written; hint: another folder, or --force to overwrite)", .existing.len(), first = .existing[0])]
    Exists {
        /// The folder.
        dir: String,
        /// The files in the way.
        existing: Vec<String>,
    },
    /// Writing failed.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Write every built-in scenario file (and `scenario.schema.json`) under
/// `dir`, keeping the folder layout; returns how many files were written.
/// Nothing is overwritten unless `force`.
pub fn export(dir: &Path, force: bool) -> Result<usize, ExportError> {
    let existing: Vec<String> = FILES
        .iter()
        .map(|(path, _)| dir.join(path))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !force && !existing.is_empty() {
        return Err(ExportError::Exists {
            dir: dir.display().to_string(),
            existing,
        });
    }
    for (path, text) in FILES {
        let target = dir.join(path);
        let io = |source| ExportError::Io {
            path: target.display().to_string(),
            source,
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&target, text).map_err(io)?;
    }
    Ok(FILES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_files_are_the_repositorys_scenarios() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        for (path, text) in FILES {
            let on_disk = std::fs::read_to_string(root.join(path)).unwrap();
            assert_eq!(&on_disk, text, "{path}");
        }
        assert!(FILES.iter().any(|(p, _)| *p == "elicitation/accept.toml"));
        assert!(FILES.iter().any(|(p, _)| *p == "client/travel.toml"));
        assert!(FILES.iter().any(|(p, _)| *p == "scenario.schema.json"));
    }

    #[test]
    fn export_writes_every_file_and_overwrites_nothing_unasked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(export(dir.path(), false).unwrap(), FILES.len());
        std::fs::write(dir.path().join("elicitation/accept.toml"), "mine").unwrap();
        let refused = export(dir.path(), false).unwrap_err().to_string();
        assert!(refused.contains("exist already"), "{refused}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("elicitation/accept.toml")).unwrap(),
            "mine"
        );
        export(dir.path(), true).unwrap();
        assert_ne!(
            std::fs::read_to_string(dir.path().join("elicitation/accept.toml")).unwrap(),
            "mine"
        );
    }
}
