//! Verdicts: what a check concluded, ordered so that summaries merge them.

use serde::{Deserialize, Serialize};

/// How binding the rule is: a MUST broken fails, a SHOULD broken warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// MUST / MUST NOT.
    Must,
    /// SHOULD / SHOULD NOT.
    Should,
}

impl Level {
    /// The outcome of a check whose rule of this level was broken: a MUST
    /// fails, a SHOULD warns.
    pub fn when_broken(self) -> Outcome {
        match self {
            Self::Must => Outcome::Fail,
            Self::Should => Outcome::Warn,
        }
    }

    /// `MUST` or `SHOULD`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
        }
    }
}

/// The outcome of one check on one transcript. Ordered for merging:
/// pass < not observed < warn < fail; skipped and unknown stand apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    /// The rule was exercised and kept.
    Pass,
    /// Nothing in the transcript exercised the rule (never counted as a pass).
    NotObserved,
    /// A SHOULD was broken.
    Warn,
    /// A MUST was broken.
    Fail,
    /// The rule does not apply: the target did not declare the capability, or the
    /// protocol version has no such rule (never counted as a fail).
    Skipped(String),
    /// The check itself failed (it panicked); never counted as a fail.
    Unknown(String),
}

impl Outcome {
    /// Short lowercase name, as printed.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::NotObserved => "not observed",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Skipped(_) => "skipped",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// One place in the transcript that breaks the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The transcript record it points at.
    pub seq: Option<u64>,
    /// What was seen.
    pub observed: String,
    /// What the rule wants.
    pub expected: String,
}

impl Finding {
    /// A finding at record `seq`.
    pub fn at(seq: u64, observed: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            seq: Some(seq),
            observed: observed.into(),
            expected: expected.into(),
        }
    }
}

/// A check's verdict on one transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Stable check id, e.g. `progress.increasing`.
    pub check: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// The protocol version it was judged under.
    pub version: String,
    /// The spec section enforced, for that version.
    pub citation: String,
    /// The conclusion.
    pub outcome: Outcome,
    /// How many subjects (messages, streams, exchanges) the check examined.
    pub examined: usize,
    /// Where the rule was broken.
    pub findings: Vec<Finding>,
}

/// Counts of outcomes, for summaries. Every variant has a field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Passes.
    pub pass: usize,
    /// Not observed.
    pub not_observed: usize,
    /// Warnings.
    pub warn: usize,
    /// Failures.
    pub fail: usize,
    /// Skipped.
    pub skipped: usize,
    /// Unknown.
    pub unknown: usize,
}

impl Tally {
    /// Count `outcome`.
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Pass => self.pass += 1,
            Outcome::NotObserved => self.not_observed += 1,
            Outcome::Warn => self.warn += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Unknown(_) => self.unknown += 1,
        }
    }

    /// Add another tally.
    pub fn merge(&mut self, other: &Tally) {
        self.pass += other.pass;
        self.not_observed += other.not_observed;
        self.warn += other.warn;
        self.fail += other.fail;
        self.skipped += other.skipped;
        self.unknown += other.unknown;
    }
}
