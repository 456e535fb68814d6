//! The execute stage for a whole run: every case of a plan against one
//! target. Servers come from the pool and serve one case after another;
//! cases start longest first in two lanes of `jobs` each (those that mostly
//! wait beside those that work); a session the server refuses at the start
//! has its case tried again with fewer cases at once; a target that stops
//! answering stops the run; once a case learns that the target does not serve
//! its protocol version, the cases of that version not yet started are
//! skipped for the same reason without starting a server (over stdio, a
//! process each). Results come back in the plan's order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use futures::StreamExt;

use crate::plan;
use crate::pool::ServerPool;
use crate::profile::Profile;
use crate::progress::LiveProgress;
use crate::report::Baseline;
use crate::run::{CaseResult, Limits, Target, run_case_in};
use crate::scenario::ScenarioFile;
use crate::throttle::Throttle;

/// How many cases in a row may fail at a time limit before the run stops.
pub const SILENT_CASES_IN_A_ROW: usize = 3;

/// How a run plays its cases.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Cases at once in each of the two lanes (at least 1).
    pub jobs: usize,
    /// Run every case even after the target stopped answering.
    pub keep_going: bool,
    /// How long a started server may take to answer.
    pub start_timeout: Duration,
    /// The time and size limits of each case.
    pub limits: Limits,
    /// Where each case's transcript is written as it happens, if anywhere.
    pub transcripts: Option<PathBuf>,
    /// What every request to the target carries (`--header`, `--bearer-token`).
    pub headers: crate::target_headers::TargetHeaders,
}

/// What a run tells its user while it goes: a line each (for stderr).
pub type Notes<'a> = &'a (dyn Fn(String) + Sync);

/// Play `cases` (scenario, version) against `target`; the results in the
/// order of `cases`. `live` hears of each case as it starts and ends.
pub async fn run_suite(
    cases: &[(&ScenarioFile, String)],
    target: &Target,
    profile: &Profile,
    options: &SuiteOptions,
    live: &LiveProgress,
    baseline: &Baseline,
    notes: Notes<'_>,
) -> Vec<CaseResult> {
    let pool =
        ServerPool::new(target, options.start_timeout, true).with_headers(options.headers.clone());
    let expected: Vec<u64> = cases
        .iter()
        .map(|(scenario, _)| plan::expected_ms(&scenario.scenario, options.limits.call))
        .collect();
    let jobs = options.jobs.max(1);
    let run = Run {
        cases,
        pool: &pool,
        profile,
        options,
        live,
        baseline,
        notes,
        // Both lanes together: fewer when the server refuses sessions.
        throttle: Throttle::new(jobs * 2),
        silent_in_a_row: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        stopped: Mutex::new(None),
        not_served: Mutex::new(BTreeMap::new()),
    };
    // Two lanes of `jobs` cases each, longest first: the cases that mostly
    // wait (a client that never answers) use no CPU, and beside the others
    // they do not hold every slot for the length of their wait.
    let (works, waits) = plan::lanes(plan::longest_first(&expected), |at| {
        plan::mostly_waits(&cases[at].0.scenario)
    });
    let lane = |order: Vec<usize>| {
        futures::stream::iter(order)
            .map(|at| run.play(at))
            .buffer_unordered(jobs)
            .collect::<Vec<(usize, CaseResult)>>()
    };
    let (mut results, waited) = futures::join!(lane(works), lane(waits));
    results.extend(waited);
    pool.close().await;
    results.sort_by_key(|(at, _)| *at);
    results.into_iter().map(|(_, case)| case).collect()
}

/// One run in progress: what every case shares.
struct Run<'a> {
    cases: &'a [(&'a ScenarioFile, String)],
    pool: &'a ServerPool,
    profile: &'a Profile,
    options: &'a SuiteOptions,
    live: &'a LiveProgress,
    baseline: &'a Baseline,
    notes: Notes<'a>,
    throttle: Throttle,
    /// Cases in a row that failed at a time limit.
    silent_in_a_row: AtomicUsize,
    finished: AtomicUsize,
    /// Why the cases not yet started are not run, once the target stopped
    /// answering.
    stopped: Mutex<Option<String>>,
    /// The protocol versions the target said it does not serve: why, and
    /// in which case it said so.
    not_served: Mutex<BTreeMap<String, (String, String)>>,
}

impl Run<'_> {
    /// Case `at` of the plan, run (or not, the run having stopped).
    async fn play(&self, at: usize) -> (usize, CaseResult) {
        let (scenario, version) = (self.cases[at].0, self.cases[at].1.as_str());
        let stop = self
            .stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(reason) = stop {
            let case = CaseResult::not_run(&scenario.id, version, reason);
            self.live.finished(&case, self.baseline);
            return (at, case);
        }
        let known = self
            .not_served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(version)
            .cloned();
        if let Some((reason, said_in)) = known {
            let mut case = CaseResult::new(&scenario.id, version);
            case.skipped = Some(format!("{reason} (in case {said_in}: not asked again)"));
            self.live.finished(&case, self.baseline);
            return (at, case);
        }
        let name = format!("{}@{version}", scenario.id);
        self.live.started(&name);
        let file = self
            .options
            .transcripts
            .as_ref()
            .map(|dir| dir.join(format!("{}.jsonl", name.replace('/', "__"))));
        let case = self.with_retries(scenario, version, file.as_ref()).await;
        if let Some(file) = file.filter(|f| !f.exists()) {
            // The case ended before its proxy (and recorder file) started.
            let _ = std::fs::write(file, case.transcript.to_jsonl());
        }
        self.count(&case);
        if case.version_not_served
            && let Some(reason) = &case.skipped
        {
            self.not_served
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(version.to_owned())
                .or_insert_with(|| (reason.clone(), name.clone()));
        }
        self.live.finished(&case, self.baseline);
        (at, case)
    }

    /// Run the case; a session the server refused at the start is tried
    /// again with fewer cases at once (see `throttle`), once more at one at
    /// a time.
    async fn with_retries(
        &self,
        scenario: &ScenarioFile,
        version: &str,
        file: Option<&PathBuf>,
    ) -> CaseResult {
        let mut last_try = false;
        loop {
            let place = self.throttle.place().await;
            let limit = self.throttle.limit();
            if let Some(file) = file {
                // Last run's file (or a refused try's) must not stand in for
                // this try's.
                let _ = std::fs::remove_file(file);
            }
            let case = run_case_in(
                scenario,
                version,
                self.pool,
                self.profile,
                self.options.limits,
                file.cloned(),
            )
            .await;
            drop(place);
            if !case.refused_at_start || last_try {
                return case;
            }
            if self.throttle.limit() < limit {
                continue; // another case backed off meanwhile
            }
            match self.throttle.back_off() {
                // Two lanes of `-j` each: a limit of 2j is `-j j`.
                Some((from, to)) => (self.notes)(format!(
                    "note: the server refused a session ({}): going on with fewer cases at once (-j {} -> {})",
                    case.error.as_deref().unwrap_or("refused"),
                    from.div_ceil(2),
                    if to > 1 {
                        format!("-j {}", to.div_ceil(2))
                    } else {
                        "one case at a time".to_owned()
                    }
                )),
                None => last_try = true,
            }
        }
    }

    /// Count a finished case: after [`SILENT_CASES_IN_A_ROW`] in a row failed
    /// at a time limit, the target stopped answering and the cases not yet
    /// started are not run (unless `keep_going`).
    fn count(&self, case: &CaseResult) {
        let n = self.finished.fetch_add(1, SeqCst) + 1;
        if !case.failed_at_time_limit() {
            self.silent_in_a_row.store(0, SeqCst);
            return;
        }
        let row = self.silent_in_a_row.fetch_add(1, SeqCst) + 1;
        if row < SILENT_CASES_IN_A_ROW || self.options.keep_going {
            return;
        }
        let mut stop = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        if stop.is_none() {
            (self.notes)(format!(
                "error: the target stopped answering at case {n} ({}): {row} cases in a row failed at a time limit; the rest fail without being run (hint: --keep-going runs them all)",
                case.name()
            ));
            *stop = Some(format!(
                "not run: the target stopped answering at case {n} ({row} cases in a row failed at a time limit; --keep-going runs them all)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(id: &str) -> ScenarioFile {
        let text = "description = \"a call\"\nversions = [\"2025-11-25\"]\n[[steps]]\ndo = \"request\"\nmethod = \"ping\"\n";
        ScenarioFile {
            id: id.into(),
            path: PathBuf::from(format!("{id}.toml")),
            scenario: crate::scenario::parse(std::path::Path::new("x.toml"), text).unwrap(),
        }
    }

    /// A server that answers every `initialize` with 2025-06-18: the first
    /// case of 2025-11-25 learns that it does not serve that version, and the
    /// others are skipped for the same reason without asking again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_the_target_does_not_serve_is_asked_once() {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let initializes = Arc::new(AtomicUsize::new(0));
        let counted = initializes.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // One request: its head, then a body of content-length.
                        let Some(head_end) = buffer.windows(4).position(|w| w == b"\r\n\r\n")
                        else {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buffer.len() < head_end + 4 + length {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        }
                        let body: serde_json::Value =
                            serde_json::from_slice(&buffer[head_end + 4..head_end + 4 + length])
                                .unwrap_or_default();
                        buffer.drain(..head_end + 4 + length);
                        let answer = match body.get("id") {
                            Some(id) => {
                                if body["method"] == "initialize" {
                                    counted.fetch_add(1, SeqCst);
                                }
                                let json =
                                    serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {
                                    "protocolVersion": "2025-06-18", "capabilities": {},
                                    "serverInfo": {"name": "old", "version": "1"}}})
                                    .to_string();
                                format!(
                                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
                                    json.len()
                                )
                            }
                            None => "HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n".to_owned(),
                        };
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let files: Vec<ScenarioFile> = (0..6).map(|i| scenario(&format!("s/{i}"))).collect();
        let cases: Vec<(&ScenarioFile, String)> =
            files.iter().map(|f| (f, "2025-11-25".to_owned())).collect();
        let options = SuiteOptions {
            jobs: 1,
            keep_going: false,
            start_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            transcripts: None,
            headers: Default::default(),
        };
        let results = run_suite(
            &cases,
            &Target::Url(url),
            &Profile::none("test"),
            &options,
            &LiveProgress::new(cases.len(), false, false),
            &Baseline::default(),
            &|_| {},
        )
        .await;
        server.abort();
        let reasons: Vec<&str> = results
            .iter()
            .map(|c| c.skipped.as_deref().unwrap_or("not skipped"))
            .collect();
        assert!(
            reasons
                .iter()
                .all(|r| r.starts_with("the target negotiated 2025-06-18 instead of 2025-11-25")),
            "{reasons:#?}"
        );
        assert_eq!(initializes.load(SeqCst), 1, "{reasons:#?}");
        let told = reasons
            .iter()
            .filter(|r| r.contains("not asked again"))
            .count();
        assert_eq!(told, 5, "{reasons:#?}");
    }

    /// A server that accepts connections and never answers: every case
    /// fails at its time limit, so after three in a row the rest are not
    /// run, each saying why, and the results keep the plan's order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_target_that_stops_answering_stops_the_run_and_the_rest_say_why() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let files: Vec<ScenarioFile> = (0..6).map(|i| scenario(&format!("s/{i}"))).collect();
        let cases: Vec<(&ScenarioFile, String)> =
            files.iter().map(|f| (f, "2025-11-25".to_owned())).collect();
        let limits = Limits {
            start: Duration::from_millis(300),
            case: Duration::from_millis(600),
            call: Duration::from_millis(300),
            ..Limits::default()
        };
        let options = SuiteOptions {
            jobs: 1,
            keep_going: false,
            start_timeout: limits.start,
            limits,
            transcripts: None,
            headers: Default::default(),
        };
        let said = Mutex::new(Vec::new());
        let notes = |line: String| said.lock().unwrap().push(line);
        let results = run_suite(
            &cases,
            &Target::Url(url),
            &Profile::none("test"),
            &options,
            &LiveProgress::new(cases.len(), false, false),
            &Baseline::default(),
            &notes,
        )
        .await;
        silent.abort();
        let names: Vec<String> = results.iter().map(CaseResult::name).collect();
        let wanted: Vec<String> = (0..6).map(|i| format!("s/{i}@2025-11-25")).collect();
        assert_eq!(names, wanted);
        let not_run = results
            .iter()
            .filter(|c| {
                c.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("not run: the target stopped answering"))
            })
            .count();
        assert_eq!(not_run, 3, "{results:#?}");
        let said = said.into_inner().unwrap();
        assert!(
            said.iter()
                .any(|l| l.contains("3 cases in a row failed at a time limit")),
            "{said:?}"
        );
    }
}
