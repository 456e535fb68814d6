//! What `run` shows while it runs: each case's lines on stdout the moment it
//! ends, and on a terminal a progress bar on stderr with the counts so far and
//! the cases running (nothing of the kind when stderr is not a terminal).

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::report::{Baseline, CaseOutcome, Summary, human_case};
use crate::run::CaseResult;

/// The live view of one run.
pub struct LiveProgress {
    bar: indicatif::ProgressBar,
    state: Mutex<State>,
    /// Print each case's lines as it ends (the readable format).
    print_cases: bool,
    conformance_only: bool,
}

#[derive(Default)]
struct State {
    running: BTreeSet<String>,
    passed: usize,
    failed: usize,
    skipped: usize,
    unexercised: usize,
}

impl LiveProgress {
    /// A view of `total` cases; `print_cases` prints each case's readable
    /// lines on stdout as it ends.
    pub fn new(total: usize, print_cases: bool, conformance_only: bool) -> Self {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} {prefix} [{elapsed}] {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Self {
            bar,
            state: Mutex::new(State::default()),
            print_cases,
            conformance_only,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn redraw(&self, state: &State) {
        self.bar.set_prefix(format!(
            "{} passed, {} failed, {} skipped, {} unexercised",
            state.passed, state.failed, state.skipped, state.unexercised
        ));
        let running: Vec<&str> = state.running.iter().map(String::as_str).collect();
        self.bar.set_message(if running.is_empty() {
            String::new()
        } else {
            format!("running: {}", running.join(", "))
        });
    }

    /// Case `name` has started.
    pub fn started(&self, name: &str) {
        let mut state = self.lock();
        state.running.insert(name.to_owned());
        self.redraw(&state);
    }

    /// `case` has ended: count it and print its lines (judged against
    /// `baseline` as the final report will judge it).
    pub fn finished(&self, case: &CaseResult, baseline: &Baseline) {
        let mut summary = Summary::of(std::slice::from_ref(case), baseline);
        if self.conformance_only {
            summary.ignore_resilience();
        }
        let mut state = self.lock();
        state.running.remove(&case.name());
        match summary.outcome_of(&case.name()) {
            CaseOutcome::Skipped => state.skipped += 1,
            CaseOutcome::Passed => state.passed += 1,
            CaseOutcome::NotExercised => state.unexercised += 1,
            CaseOutcome::Failed | CaseOutcome::Lost => state.failed += 1,
        }
        if self.print_cases {
            let lines = human_case(case, &summary);
            self.bar.suspend(|| {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(lines.as_bytes());
                let _ = stdout.flush();
            });
        }
        self.bar.inc(1);
        self.redraw(&state);
    }

    /// The run is over: take the bar away.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
