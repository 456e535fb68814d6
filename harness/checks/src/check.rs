//! What a check is: a stable id, its rule in each protocol version (level,
//! spec section, the sentence it enforces), what the target must have declared,
//! and the pure function that judges a transcript.

use crate::analysis::Analysis;
use crate::verdict::{Finding, Level, Outcome};

/// What a check function found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Judged {
    /// Subjects examined; 0 means the rule was not observed.
    pub examined: usize,
    /// Breaches.
    pub findings: Vec<Finding>,
}

impl Judged {
    /// The outcome under a rule of `level`: broken if anything was found,
    /// else kept if anything was examined, else not observed.
    pub fn outcome(&self, level: Level) -> Outcome {
        if !self.findings.is_empty() {
            level.when_broken()
        } else if self.examined == 0 {
            Outcome::NotObserved
        } else {
            Outcome::Pass
        }
    }
}

/// A range of protocol versions (dates compare as text): `from` inclusive,
/// `before` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// The first version, `""` for all before `before`.
    pub from: &'static str,
    /// The first version no longer covered, if any.
    pub before: Option<&'static str>,
}

impl Versions {
    /// Every version.
    pub const ALL: Self = Self {
        from: "",
        before: None,
    };
    /// The session era: `initialize`, `Mcp-Session-Id`, SSE event ids and
    /// `Last-Event-ID` (every version before 2026-07-28).
    pub const LEGACY: Self = Self::before("2026-07-28");
    /// The stateless era, 2026-07-28 and later.
    pub const MODERN: Self = Self::from("2026-07-28");

    /// `version` and every later one.
    pub const fn from(version: &'static str) -> Self {
        Self {
            from: version,
            before: None,
        }
    }

    /// Every version before `version`.
    pub const fn before(version: &'static str) -> Self {
        Self {
            from: "",
            before: Some(version),
        }
    }

    /// From `from` up to, not including, `before`.
    pub const fn between(from: &'static str, before: &'static str) -> Self {
        Self {
            from,
            before: Some(before),
        }
    }

    /// Whether `version` is in the range.
    pub fn covers(self, version: &str) -> bool {
        version >= self.from && self.before.is_none_or(|before| version < before)
    }
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.from, self.before) {
            ("", None) => write!(f, "every version"),
            ("", Some(before)) => write!(f, "before {before}"),
            (from, None) => write!(f, "{from} and later"),
            (from, Some(before)) => write!(f, "{from} up to {before}"),
        }
    }
}

/// A capability a check needs the target to have declared, or it is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing.
    Nothing,
    /// The server declared `tasks` (the 2026 extension).
    ServerTasks,
}

/// The transports a check's rule is about: a rule of one transport is
/// skipped, with that reason, on a transcript of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transports {
    /// Streamable HTTP and stdio alike (the JSON-RPC, lifecycle and feature rules).
    Both,
    /// Streamable HTTP only (sessions, `Origin`, SSE, resumption, headers).
    HttpOnly,
    /// stdio only (what goes on stdout, shutdown by closing stdin).
    StdioOnly,
}

/// A check's rule in a range of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The versions it holds in.
    pub versions: Versions,
    /// MUST or SHOULD there.
    pub level: Level,
    /// Spec page and anchor, relative to `specification/<version>/`.
    pub section: &'static str,
    /// The sentence of the spec it enforces.
    pub quote: &'static str,
}

/// One check, declared once in its spec area's module.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable id.
    pub id: &'static str,
    /// Its rule per version range; the first that covers a version applies,
    /// and a version none covers has no such rule.
    pub rules: &'static [Rule],
    /// What the target must have declared.
    pub needs: Needs,
    /// The transports it applies to.
    pub transports: Transports,
    /// The judge.
    pub run: fn(&Analysis) -> Judged,
}

impl Check {
    /// The rule that holds in `version`, if any.
    pub fn rule(&self, version: &str) -> Option<&'static Rule> {
        self.rules.iter().find(|rule| rule.versions.covers(version))
    }

    /// The rule of `version`, else the first (what a skipped verdict shows).
    fn rule_or_first(&self, version: &str) -> Option<&'static Rule> {
        self.rule(version).or(self.rules.first())
    }

    /// The level in `version` (the first rule's where it has none).
    pub fn level_in(&self, version: &str) -> Level {
        self.rule_or_first(version)
            .map_or(Level::Must, |rule| rule.level)
    }

    /// The citation for `version`: `specification/<version>/<section>`.
    pub fn citation(&self, version: &str) -> String {
        match self.rule_or_first(version) {
            Some(rule) => format!("specification/{version}/{}", rule.section),
            None => format!("specification/{version}"),
        }
    }
}
