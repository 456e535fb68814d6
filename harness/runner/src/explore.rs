//! Property-based chaos: a proptest strategy of fault schedules (which stream is
//! cut after how many events, resume delays, server restarts, TCP latency, the
//! answers to elicitation and sampling; over stdio, pipe delays, a stall, split
//! writes, stdin closed mid-call and restarts), each turned into an ordinary
//! scenario file and run against a target. The property: no check fails. When one does,
//! proptest shrinks the schedule, and the minimal one is written out as a
//! scenario file that reproduces it, in the folder of its spec area (`streams/`
//! for a schedule over HTTP, `stdio/` over stdio) under `--out`.

use std::path::{Path, PathBuf};

use mcp_harness_checks::Outcome;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::profile::Profile;
use crate::run::{CaseResult, Limits, Target, run_case_in};
use crate::scenario::{
    CallStep, ClientSpec, ElicitationAnswer, Expect, FaultEntry, FaultWhat, ProcessTrigger, Role,
    SamplingAnswer, Scenario, ScenarioFile, Step, Transport, parse,
};
use mcp_harness_chaos::{FaultRule, StreamFault, StreamSelector};
use mcp_harness_wire::PipeFault;
use serde_json::json;

/// The agent role a schedule exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Progress + elicitation (travel agent).
    Elicits,
    /// Progress + sampling (research agent).
    Samples,
    /// Progress + logging (long-running agent).
    LongRunning,
}

/// One fault schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Protocol version.
    pub version: String,
    /// Which flow.
    pub flow: Flow,
    /// Answer to the question: `accept`, `decline`, `cancel` (elicitation) or
    /// `text`, `error` (sampling).
    pub answer: &'static str,
    /// Cut the call's stream after this many events.
    pub cut_after: Option<u32>,
    /// Also cut the first resumed stream after this many events.
    pub cut_resume_after: Option<u32>,
    /// Wait this long before resuming, ms.
    pub resume_delay_ms: u64,
    /// Kill and restart the server after the client got this many events.
    pub restart_after: Option<u32>,
    /// TCP latency each way, ms.
    pub latency_ms: Option<u64>,
    /// stdio: the pipe faults (the stream and TCP ones above are HTTP's).
    pub pipes: Option<PipeSchedule>,
}

/// The faults of a stdio schedule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipeSchedule {
    /// Hold every line, both ways, ms.
    pub delay_ms: u64,
    /// Hold the next line to the client, ms.
    pub stall_to_client_ms: u64,
    /// Write each client line in two parts this far apart, ms.
    pub split_writes_ms: u64,
    /// Close the server's stdin after the client got this many events.
    pub close_stdin_after: Option<u32>,
}

impl Schedule {
    /// One line, no quotes: what this schedule does.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{:?} answering {}", self.flow, self.answer)];
        if let Some(n) = self.cut_after {
            parts.push(format!("cut after {n}"));
        }
        if let Some(n) = self.cut_resume_after {
            parts.push(format!("resume cut after {n}"));
        }
        parts.push(format!("resume after {} ms", self.resume_delay_ms));
        if let Some(n) = self.restart_after {
            parts.push(format!("restart after {n} events"));
        }
        if let Some(ms) = self.latency_ms {
            parts.push(format!("latency {ms} ms"));
        }
        if let Some(pipes) = &self.pipes {
            parts.push("over stdio".into());
            for (ms, what) in [
                (pipes.delay_ms, "lines held"),
                (pipes.stall_to_client_ms, "next line to the client stalled"),
                (pipes.split_writes_ms, "client lines split"),
            ] {
                if ms > 0 {
                    parts.push(format!("{what} {ms} ms"));
                }
            }
            if let Some(n) = pipes.close_stdin_after {
                parts.push(format!("stdin closed after {n} events"));
            }
        }
        parts.join(", ")
    }

    /// The scenario that runs this schedule, built as values (so it is valid
    /// by construction, and its file is its serialization).
    pub fn to_scenario(&self) -> Scenario {
        let role = match self.flow {
            Flow::Elicits => Role::Elicits,
            Flow::Samples => Role::Samples,
            Flow::LongRunning => Role::LongRunning,
        };
        let mut client = ClientSpec {
            resume_delay_ms: self.resume_delay_ms,
            max_resumes: 4,
            ..ClientSpec::default()
        };
        match (self.flow, self.answer) {
            (Flow::Elicits, "accept") => {
                client.elicitation = ElicitationAnswer::Accept {
                    content: Some(json!({"confirm": true})),
                }
            }
            (Flow::Elicits, "decline") => client.elicitation = ElicitationAnswer::Decline,
            (Flow::Elicits, "cancel") => client.elicitation = ElicitationAnswer::Cancel,
            (Flow::Samples, "error") => client.sampling = SamplingAnswer::Error,
            _ => {}
        }
        let cut = |after: u32, select: StreamSelector| {
            FaultEntry::from_start(FaultWhat::Stream(FaultRule {
                select,
                fault: StreamFault::Cut { after },
            }))
        };
        let mut faults = Vec::new();
        if let Some(after) = self.cut_after {
            faults.push(cut(
                after,
                StreamSelector {
                    rpc_method: Some("tools/call".into()),
                    occurrence: Some(1),
                    ..StreamSelector::default()
                },
            ));
        }
        if let Some(after) = self.cut_resume_after {
            faults.push(cut(
                after,
                StreamSelector {
                    http_method: Some("GET".into()),
                    resume: Some(true),
                    occurrence: Some(1),
                    ..StreamSelector::default()
                },
            ));
        }
        if let Some(ms) = self.latency_ms {
            faults.push(FaultEntry::from_start(FaultWhat::Tcp(
                json!({"type": "latency", "attributes": {"latency": ms}}),
            )));
        }
        let calls = StreamSelector {
            role: Some(role.name().into()),
            ..StreamSelector::default()
        };
        if let Some(after) = self.restart_after {
            faults.push(FaultEntry::from_start(FaultWhat::Kill(ProcessTrigger {
                select: calls.clone(),
                after_events: Some(after),
                ..ProcessTrigger::default()
            })));
        }
        if let Some(pipes) = &self.pipes {
            let holds = PipeFault {
                delay_to_server_ms: pipes.delay_ms,
                delay_to_client_ms: pipes.delay_ms,
                stall_to_server_ms: 0,
                stall_to_client_ms: pipes.stall_to_client_ms,
                split_writes_ms: pipes.split_writes_ms,
            };
            if !holds.is_none() {
                faults.push(FaultEntry {
                    what: FaultWhat::Pipe(holds),
                    from_step: Some(1),
                    until_step: None,
                });
            }
            if let Some(after) = pipes.close_stdin_after {
                faults.push(FaultEntry::from_start(FaultWhat::CloseStdin(
                    ProcessTrigger {
                        select: calls.clone(),
                        after_events: Some(after),
                        ..ProcessTrigger::default()
                    },
                )));
            }
        }
        let steps = vec![Step::Call(CallStep {
            tool: role.name().into(),
            arguments: None,
            progress_token: Some(json!("explored")),
            log_level: None,
            cites: None,
            expect: Expect::Any,
            expect_text: None,
            restart_after_events: None,
            restart_after_task_polls: None,
            restart_after_server_events: None,
            name: None,
            session: None,
            first_retry: None,
            cancel_task_after_polls: None,
            intruder_after_polls: None,
            close_stdin_after_events: None,
        })];
        let transports = if self.pipes.is_some() {
            vec![Transport::Stdio]
        } else {
            vec![Transport::Http]
        };
        // Its subject: nothing the faults touch is lost or answered twice.
        let cites = if self.pipes.is_some() {
            ["stdio.stdout_messages_only", "response.exactly_once"]
        } else {
            ["stream.nothing_lost", "response.exactly_once"]
        };
        Scenario {
            description: format!("explored fault schedule: {}", self.summary()),
            versions: vec![self.version.clone()],
            cites: cites.map(String::from).to_vec(),
            needs: vec![role],
            needs_capabilities: Vec::new(),
            client,
            faults,
            toxics: Vec::new(),
            for_each_role: Vec::new(),
            needs_resumption: false,
            needs_credentials: false,
            // Cuts under latency are not meant to be snapshot-stable: the
            // checks judge an explored schedule.
            snapshot: false,
            transports,
            steps,
            notes: Vec::new(),
        }
    }

    /// The scenario file text that runs this schedule.
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.to_scenario())
            .unwrap_or_else(|e| unreachable!("a scenario always serializes: {e}"))
    }
}

/// Fault schedules over `versions`; restarts only where the harness starts the
/// server (`restarts`), and only in the eras with resumable streams. Over
/// `Transport::Stdio` the faults are the pipes' (and restarts), never a cut,
/// a resume or TCP latency.
pub fn schedules(
    versions: Vec<String>,
    restarts: bool,
    flows: Vec<Flow>,
    transport: Transport,
) -> impl Strategy<Value = Schedule> {
    let flow = proptest::sample::select(flows);
    let stdio = transport == Transport::Stdio;
    let pipes = (
        prop_oneof![Just(0u64), Just(5), Just(25)],
        prop_oneof![Just(0u64), Just(0), Just(300)],
        prop_oneof![Just(0u64), Just(3)],
        proptest::option::weighted(0.15, 1u32..4),
    )
        .prop_map(
            |(delay_ms, stall_to_client_ms, split_writes_ms, close_stdin_after)| PipeSchedule {
                delay_ms,
                stall_to_client_ms,
                split_writes_ms,
                close_stdin_after,
            },
        );
    (
        proptest::sample::select(versions),
        flow,
        0usize..3,
        proptest::option::of(1u32..8),
        proptest::option::of(1u32..4),
        prop_oneof![Just(0u64), Just(20), Just(150)],
        proptest::option::weighted(if restarts { 0.2 } else { 0.0 }, 2u32..6),
        proptest::option::weighted(0.3, 1u64..40),
        pipes,
    )
        .prop_map(
            move |(
                version,
                flow,
                pick,
                cut_after,
                cut_resume_after,
                delay,
                restart,
                latency,
                pipes,
            )| {
                let answer = match flow {
                    Flow::Elicits => ["accept", "decline", "cancel"][pick],
                    Flow::Samples => ["text", "error", "text"][pick],
                    Flow::LongRunning => "none",
                };
                let legacy = !mcp_harness_checks::is_modern_version(&version);
                let http = !stdio;
                Schedule {
                    version,
                    flow,
                    answer,
                    cut_after: cut_after.filter(|_| http),
                    cut_resume_after: cut_resume_after
                        .filter(|_| http && cut_after.is_some() && legacy),
                    resume_delay_ms: if http { delay } else { 0 },
                    // A stdio kill and stdin closed mid-call are one fault too many.
                    restart_after: restart
                        .filter(|_| legacy && !(stdio && pipes.close_stdin_after.is_some())),
                    latency_ms: latency.filter(|_| http),
                    pipes: stdio.then_some(pipes),
                }
            },
        )
}

/// The flows `profile` has a tool for.
pub fn flows_of(profile: &Profile) -> Vec<Flow> {
    use crate::scenario::Role;
    [
        (Role::Elicits, Flow::Elicits),
        (Role::Samples, Flow::Samples),
        (Role::LongRunning, Flow::LongRunning),
    ]
    .into_iter()
    .filter(|(role, _)| profile.missing(&[*role]).is_none())
    .map(|(_, flow)| flow)
    .collect()
}

/// Why a case breaks the property, if it does: a failed check (other than the
/// scenario's own expectations, which a random schedule cannot know) or a
/// harness error.
pub fn violation(case: &CaseResult) -> Option<String> {
    if let Some(error) = &case.error {
        return Some(format!("error: {error}"));
    }
    let failed: Vec<String> = case
        .verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Fail && v.check != "scenario.expectations")
        .map(|v| {
            let first = v
                .findings
                .first()
                .map(|f| format!(": {}", f.observed))
                .unwrap_or_default();
            format!("{}{first}", v.check)
        })
        .collect();
    (!failed.is_empty()).then(|| failed.join("; "))
}

/// What an exploration found.
#[derive(Debug)]
pub struct Exploration {
    /// Schedules run (including shrinking).
    pub runs: u32,
    /// Of those, the schedules the target could not run (a case skipped),
    /// with the first reason: they tested nothing and count for nothing.
    pub skipped: (u32, Option<String>),
    /// The minimal failing schedule, why it fails, and where it was written.
    pub failure: Option<(Schedule, String, PathBuf)>,
}

/// Errors of an exploration itself (not of the target).
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// The generated scenario did not parse (a bug in this module).
    #[error("generated scenario does not parse: {0}")]
    Scenario(String),
    /// The profile maps no tool to a role a schedule can drive.
    #[error(
        "the profile `{0}` has no tool for elicits, samples or long_running (hint: --profile FILE)"
    )]
    NoFlows(String),
    /// The runtime or the output directory failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Run `cases` random schedules against `target`; on a failure, shrink it and
/// write the minimal schedule as a scenario file in the folder of its spec
/// area under `out_dir` (`out_dir/streams/explored_....toml`). Blocking: call it
/// outside an async context (it runs its own runtime).
pub fn explore(
    target: &Target,
    headers: &crate::target_headers::TargetHeaders,
    profile: &Profile,
    versions: Vec<String>,
    cases: u32,
    limits: Limits,
    out_dir: &Path,
) -> Result<Exploration, ExploreError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let restarts = !matches!(target, Target::Url(_));
    let flows = flows_of(profile);
    if flows.is_empty() {
        return Err(ExploreError::NoFlows(profile.name.clone()));
    }
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let runs = std::cell::Cell::new(0u32);
    let skipped = std::cell::RefCell::new((0u32, None::<String>));
    let transport = target.transport();
    let result = runner.run(
        &schedules(versions, restarts, flows, transport),
        |schedule| {
            runs.set(runs.get() + 1);
            let scenario =
                scenario_of(&schedule).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let pool =
                crate::pool::ServerPool::single(target, limits.start).with_headers(headers.clone());
            let case = runtime.block_on(run_case_in(
                &scenario,
                &schedule.version,
                &pool,
                profile,
                limits,
                None,
            ));
            if let Some(reason) = &case.skipped {
                let mut skipped = skipped.borrow_mut();
                skipped.0 += 1;
                skipped.1.get_or_insert_with(|| reason.clone());
            }
            match violation(&case) {
                Some(why) => Err(TestCaseError::fail(why)),
                None => Ok(()),
            }
        },
    );
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(why, schedule)) => {
            let area = schedule.to_scenario().area().unwrap_or("streams");
            let dir = out_dir.join(area);
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("explored_{:016x}.toml", fingerprint(&schedule)));
            let text = format!(
                "# Minimal fault schedule found by `mcp-harness explore`; it failed with:\n# {}\n{}",
                why.message().replace('\n', " "),
                schedule.to_toml()
            );
            std::fs::write(&path, text)?;
            Some((schedule, why.message().to_owned(), path))
        }
        Err(TestError::Abort(why)) => {
            return Err(ExploreError::Scenario(why.message().to_owned()));
        }
    };
    Ok(Exploration {
        runs: runs.get(),
        skipped: skipped.into_inner(),
        failure,
    })
}

fn scenario_of(schedule: &Schedule) -> Result<ScenarioFile, ExploreError> {
    let path = PathBuf::from("explored.toml");
    let scenario =
        parse(&path, &schedule.to_toml()).map_err(|e| ExploreError::Scenario(e.to_string()))?;
    Ok(ScenarioFile {
        id: "explored".into(),
        path,
        scenario,
    })
}

/// A stable name for a schedule's file.
fn fingerprint(schedule: &Schedule) -> u64 {
    // FNV-1a over the scenario text: stable across runs and platforms.
    schedule
        .to_toml()
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_file_reads_as_a_scenario_a_person_writes() {
        let schedule = Schedule {
            version: "2025-11-25".into(),
            flow: Flow::Elicits,
            answer: "decline",
            cut_after: Some(2),
            cut_resume_after: None,
            resume_delay_ms: 20,
            restart_after: None,
            latency_ms: Some(5),
            pipes: None,
        };
        let text = schedule.to_toml();
        for line in [
            "versions = [\"2025-11-25\"]",
            "needs = [\"elicits\"]",
            "elicitation = \"decline\"",
            "[[faults]]",
            "fault = \"cut\"",
            "after = 2",
            "fault = \"latency\"",
            "[[steps]]",
            "do = \"call\"",
            "tool = \"elicits\"",
        ] {
            assert!(text.lines().any(|l| l.trim() == line), "{line} in\n{text}");
        }
    }

    proptest! {
        #[test]
        fn every_schedule_is_a_valid_scenario(schedule in schedules(
            vec!["2025-06-18".into(), "2025-11-25".into(), "2026-07-28".into()], true,
            vec![Flow::Elicits, Flow::Samples, Flow::LongRunning], Transport::Http)) {
            let scenario = scenario_of(&schedule).unwrap();
            prop_assert_eq!(&scenario.scenario.versions, &vec![schedule.version.clone()]);
            prop_assert_eq!(scenario.scenario.faults.len(),
                schedule.cut_after.is_some() as usize + schedule.cut_resume_after.is_some() as usize
                    + schedule.latency_ms.is_some() as usize + schedule.restart_after.is_some() as usize);
            prop_assert!(schedule.pipes.is_none());
            if mcp_harness_checks::is_modern_version(&schedule.version) {
                prop_assert!(schedule.restart_after.is_none());
            }
        }

        #[test]
        fn a_schedule_s_file_reads_back_as_the_scenario_it_was_built_from(schedule in schedules(
            vec!["2025-06-18".into(), "2026-07-28".into()], true,
            vec![Flow::Elicits, Flow::Samples, Flow::LongRunning], Transport::Http)) {
            let read = parse(Path::new("explored.toml"), &schedule.to_toml()).unwrap();
            prop_assert_eq!(read, schedule.to_scenario());
        }

        #[test]
        fn stdio_schedules_fault_the_pipes_only(schedule in schedules(
            vec!["2025-06-18".into(), "2025-11-25".into(), "2026-07-28".into()], true,
            vec![Flow::Elicits, Flow::Samples, Flow::LongRunning], Transport::Stdio)) {
            let scenario = scenario_of(&schedule).unwrap();
            prop_assert_eq!(&scenario.scenario.transports, &vec![Transport::Stdio]);
            prop_assert!(scenario.scenario.faults.iter().all(|f| !f.needs_http()));
            prop_assert!(schedule.cut_after.is_none() && schedule.latency_ms.is_none());
            let pipes = schedule.pipes.clone().unwrap();
            let pipe_from_the_call = scenario.scenario.faults.iter().all(|f| {
                !matches!(f.what, FaultWhat::Pipe(_)) || f.from_step == Some(1)
            });
            prop_assert!(pipe_from_the_call, "the pipes hold from the call on");
            prop_assert!(schedule.restart_after.is_none() || pipes.close_stdin_after.is_none());
        }
    }
}
