//! Reading a stored run back for `mcp-harness report`: an `--out` folder
//! (its report.json with the transcripts beside it), or one transcript file,
//! judged afresh. Errors name the file and what is wrong with it.

use std::path::{Path, PathBuf};

use mcp_harness_wire::Transcript;
use serde::Deserialize;

use crate::report::{Baseline, REPORT_FORMAT, REPORT_VERSION, Summary};
use crate::run::CaseResult;

/// Why a stored run could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoredRunError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// report.json is not a report this build reads.
    #[error("`{path}`: {message}")]
    BadReport {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A transcript is not one.
    #[error("`{path}`: {source}")]
    BadTranscript {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: mcp_harness_wire::TranscriptError,
    },
}

/// The part of report.json a stored run is rebuilt from.
#[derive(Deserialize)]
struct StoredReport {
    format: String,
    version: u32,
    summary: Summary,
    cases: Vec<CaseResult>,
}

fn read(path: &Path) -> Result<String, StoredRunError> {
    std::fs::read_to_string(path).map_err(|source| StoredRunError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The transcript in the file at `path` (JSON Lines), read and parsed.
pub fn parse_transcript(path: &Path) -> Result<Transcript, StoredRunError> {
    Transcript::from_jsonl(&read(path)?).map_err(|source| StoredRunError::BadTranscript {
        path: path.to_owned(),
        source,
    })
}

/// The file name a case's transcript has under `--out`/transcripts.
pub fn transcript_file_name(case_name: &str) -> String {
    format!("{}.jsonl", case_name.replace('/', "__"))
}

/// The cases of a stored report, without transcripts: `path` is an `--out`
/// folder (its report.json) or a report.json file (`run --format json`).
pub fn read_report(path: &Path) -> Result<Vec<CaseResult>, StoredRunError> {
    let path = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_owned()
    };
    let text = read(&path)?;
    let bad = |message: String| StoredRunError::BadReport {
        path: path.clone(),
        message,
    };
    let report: StoredReport = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not an mcp-harness report: {e} (hint: pass an `--out` folder, or the JSON `run --format json` printed)"
        ))
    })?;
    if report.format != REPORT_FORMAT || report.version != REPORT_VERSION {
        return Err(bad(format!(
            "report format `{}` version {} is not supported (hint: this build reads `{REPORT_FORMAT}` version {REPORT_VERSION})",
            report.format, report.version
        )));
    }
    Ok(report.cases)
}

/// The cases and summary of an `--out` folder, with each case's transcript
/// (a case whose transcript file is missing is drawn without one).
pub fn read_out_folder(dir: &Path) -> Result<(Vec<CaseResult>, Summary), StoredRunError> {
    let path = dir.join("report.json");
    let text = read(&path)?;
    let bad = |message: String| StoredRunError::BadReport {
        path: path.clone(),
        message,
    };
    let report: StoredReport = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not an mcp-harness report: {e} (hint: pass the folder `run --out` or `client-test --out` wrote)"
        ))
    })?;
    if report.format != REPORT_FORMAT || report.version != REPORT_VERSION {
        return Err(bad(format!(
            "report format `{}` version {} is not supported (hint: this build reads `{REPORT_FORMAT}` version {REPORT_VERSION})",
            report.format, report.version
        )));
    }
    let mut cases = report.cases;
    for case in &mut cases {
        let file = dir
            .join("transcripts")
            .join(transcript_file_name(&case.name()));
        if file.exists() {
            case.transcript = parse_transcript(&file)?;
        }
    }
    Ok((cases, report.summary))
}

/// One transcript file as a case, judged with the server checks (or, with
/// `client`, the client checks) and resilience, named after the file
/// (`streams__cut_first@2025-11-25.jsonl` is case `streams/cut_first@2025-11-25`).
pub fn read_transcript(
    path: &Path,
    client: bool,
) -> Result<(Vec<CaseResult>, Summary), StoredRunError> {
    let transcript = parse_transcript(path)?;
    let analysis = mcp_harness_checks::Analysis::of(&transcript);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().replace("__", "/"))
        .unwrap_or_else(|| "transcript".into());
    let (scenario, version) = match stem.rsplit_once('@') {
        Some((scenario, version)) => (scenario.to_owned(), version.to_owned()),
        None => (stem.clone(), analysis.version.clone()),
    };
    let mut case = CaseResult::new(&scenario, &version);
    case.verdicts = if client {
        mcp_harness_checks::judge_client(&transcript)
    } else {
        mcp_harness_checks::judge_analysis(&analysis)
    };
    case.resilience = mcp_harness_checks::resilience(&analysis);
    case.unexercised = mcp_harness_checks::unexercised_faults(&analysis);
    if client {
        // A client's transcript is drawn with the client under test on the left.
        case.client_output = Some(String::new());
    }
    case.duration_ms = transcript.records.last().map_or(0, |r| r.at_us / 1000);
    case.transcript = transcript;
    let cases = vec![case];
    let summary = Summary::of(&cases, &Baseline::default());
    Ok((cases, summary))
}
