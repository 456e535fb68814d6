//! Verdicts on what a scenario or a profile expects beyond the catalog's
//! rules: a step's expectation (met or not, citing a rule or not), the
//! profile's domain outcomes (text a call's result must or must not hold),
//! and the profile's word that its `progress` tool reports progress. Pure,
//! like every check: the runner records what its steps did and hands it here,
//! so MUST -> fail and SHOULD -> warn are decided in one crate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Analysis, Finding, Judged, Level, Outcome, Verdict};

/// What one step of a scenario did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Step number, from 1.
    pub step: usize,
    /// Whether it did what the scenario expected.
    pub ok: bool,
    /// What happened.
    pub detail: String,
    /// The check whose rule the step's expectation enforces, if it cites one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cites: Option<String>,
    /// The text of the call's result, for a call step that got one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_text: Option<String>,
}

/// The id of the verdict on a scenario's own wishes (uncited expectations).
pub const SCENARIO_EXPECTATIONS: &str = "scenario.expectations";
/// The id of the verdict on a profile's domain outcomes.
pub const PROFILE_OUTCOMES: &str = "profile.outcomes";
/// The id of the verdict on a profile's `progress` role.
pub const PROFILE_PROGRESS_ROLE: &str = "profile.progress_role";

/// Judge the steps' expectations. An unmet one that cites a check is a
/// finding of that check's verdict in `verdicts`, at its rule's level (a
/// check with no rule in this version is left alone). The others are the
/// scenario's own wishes, judged as [`SCENARIO_EXPECTATIONS`]: failed when
/// `wishes_bind` (the reference agents, whose behaviour the scenarios
/// specify), skipped with the first wish otherwise.
pub fn judge_expectations(
    steps: &[StepResult],
    version: &str,
    wishes_bind: bool,
    verdicts: &mut Vec<Verdict>,
) {
    let finding = |s: &StepResult, expected: &str| Finding {
        seq: None,
        observed: format!("step {}: {}", s.step, s.detail),
        expected: expected.into(),
    };
    let mut wishes = Vec::new();
    for s in steps.iter().filter(|s| !s.ok) {
        let Some(cited) = &s.cites else {
            wishes.push(finding(s, "what the scenario expects"));
            continue;
        };
        let Some(verdict) = verdicts.iter_mut().find(|v| &v.check == cited) else {
            continue;
        };
        if matches!(verdict.outcome, Outcome::Skipped(_)) {
            continue; // no such rule in this version
        }
        verdict
            .findings
            .push(finding(s, "what the cited rule requires"));
        verdict.examined = verdict.examined.max(1);
        // A MUST broken fails even a check that judged nothing else; a
        // SHOULD warns unless the check already failed.
        verdict.outcome = match verdict.level {
            Level::Must => Outcome::Fail,
            Level::Should => Outcome::Warn.max(verdict.outcome.clone()),
        };
    }
    let outcome = if steps.is_empty() {
        Outcome::NotObserved
    } else if wishes.is_empty() {
        Outcome::Pass
    } else if wishes_bind {
        Level::Must.when_broken()
    } else {
        Outcome::Skipped(format!(
            "{} wish(es) of the scenario not met, not spec rules (first: {})",
            wishes.len(),
            wishes[0].observed
        ))
    };
    verdicts.push(Verdict {
        check: SCENARIO_EXPECTATIONS.into(),
        level: Level::Must,
        version: version.into(),
        citation: "the scenario file (its own wishes; rules are cited with `cites`)".into(),
        outcome,
        examined: steps.len(),
        findings: wishes,
    });
}

/// What a profile wants of the text of every call result of a scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResultText<'a> {
    /// Text the result must contain.
    pub contains: Option<&'a str>,
    /// Text it must not contain.
    pub lacks: Option<&'a str>,
}

/// Judge every call result of `steps` against `wanted` (the domain outcomes
/// of profile `profile` that apply), as [`PROFILE_OUTCOMES`], a MUST.
pub fn judge_result_texts(
    steps: &[StepResult],
    wanted: &[ResultText<'_>],
    profile: &str,
    version: &str,
) -> Verdict {
    let mut findings = Vec::new();
    let mut examined = 0;
    for step in steps {
        let Some(text) = &step.result_text else {
            continue;
        };
        examined += 1;
        for outcome in wanted {
            if let Some(want) = outcome.contains.filter(|w| !text.contains(w)) {
                findings.push(Finding {
                    seq: None,
                    observed: format!(
                        "step {}: the result {text:?} does not contain {want:?}",
                        step.step
                    ),
                    expected: format!("a result containing {want:?}"),
                });
            }
            if let Some(banned) = outcome.lacks.filter(|b| text.contains(b)) {
                findings.push(Finding {
                    seq: None,
                    observed: format!(
                        "step {}: the result {text:?} contains {banned:?}",
                        step.step
                    ),
                    expected: format!("no result containing {banned:?}"),
                });
            }
        }
    }
    verdict_of(
        PROFILE_OUTCOMES,
        Level::Must,
        version,
        format!("the profile `{profile}` (its domain outcomes)"),
        Judged { examined, findings },
    )
}

/// The profile `profile` binds `tool` to the role `progress`: each call of it
/// made with a progress token that completes should have carried a progress
/// notification, as [`PROFILE_PROGRESS_ROLE`], a SHOULD.
pub fn judge_progress_role(
    analysis: &Analysis,
    tool: &str,
    profile: &str,
    version: &str,
) -> Verdict {
    let mut examined = 0;
    let mut findings = Vec::new();
    for x in &analysis.exchanges {
        let Some(body) = &x.body else { continue };
        let calls_tool = body.get("method").and_then(Value::as_str) == Some("tools/call")
            && body.pointer("/params/name").and_then(Value::as_str) == Some(tool);
        let (Some(token), Some(id)) = (body.pointer("/params/_meta/progressToken"), body.get("id"))
        else {
            continue;
        };
        if !calls_tool {
            continue;
        }
        let session = x.session();
        let messages = analysis
            .exchanges
            .iter()
            .filter(|y| y.session() == session)
            .flat_map(|y| y.server_messages());
        let (mut complete, mut progressed) = (false, false);
        for (_, message, _) in messages {
            let result = message
                .get("result")
                .filter(|_| message.get("id") == Some(id));
            if let Some(result) = result {
                let kind = result.get("resultType").and_then(Value::as_str);
                complete = kind.is_none_or(|k| k == "complete")
                    && result.get("isError") != Some(&Value::Bool(true));
            }
            progressed |= message.get("method").and_then(Value::as_str)
                == Some("notifications/progress")
                && message.pointer("/params/progressToken") == Some(token);
        }
        if !complete {
            continue;
        }
        examined += 1;
        if !progressed {
            findings.push(Finding::at(
                x.request_seq,
                format!(
                    "the call of `{tool}` with progress token {token} completed without a progress notification"
                ),
                format!(
                    "progress notifications: the profile `{profile}` binds `{tool}` to the role `progress`"
                ),
            ));
        }
    }
    verdict_of(
        PROFILE_PROGRESS_ROLE,
        Level::Should,
        version,
        "the profile (its `progress` role: a tool that reports progress when asked with a token)"
            .into(),
        Judged { examined, findings },
    )
}

/// A verdict from what was judged, as every check's is made.
fn verdict_of(
    check: &str,
    level: Level,
    version: &str,
    citation: String,
    judged: Judged,
) -> Verdict {
    Verdict {
        check: check.into(),
        level,
        version: version.into(),
        citation,
        outcome: judged.outcome(level),
        examined: judged.examined,
        findings: judged.findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: usize, ok: bool, cites: Option<&str>, text: Option<&str>) -> StepResult {
        StepResult {
            step: n,
            ok,
            detail: format!("did {n}"),
            cites: cites.map(String::from),
            result_text: text.map(String::from),
        }
    }

    fn verdict(check: &str, level: Level, outcome: Outcome) -> Verdict {
        Verdict {
            check: check.into(),
            level,
            version: "2025-11-25".into(),
            citation: String::new(),
            outcome,
            examined: 0,
            findings: Vec::new(),
        }
    }

    #[test]
    fn an_unmet_cited_expectation_is_a_finding_of_its_check_at_its_level() {
        let mut verdicts = vec![
            verdict("a.must", Level::Must, Outcome::NotObserved),
            verdict("b.should", Level::Should, Outcome::Pass),
            verdict(
                "c.absent",
                Level::Must,
                Outcome::Skipped("no such rule".into()),
            ),
        ];
        let steps = [
            step(1, false, Some("a.must"), None),
            step(2, false, Some("b.should"), None),
            step(3, false, Some("c.absent"), None),
            step(4, true, Some("a.must"), None),
        ];
        judge_expectations(&steps, "2025-11-25", false, &mut verdicts);
        assert_eq!(verdicts[0].outcome, Outcome::Fail);
        assert_eq!(verdicts[0].findings[0].observed, "step 1: did 1");
        assert_eq!(verdicts[1].outcome, Outcome::Warn);
        assert!(matches!(verdicts[2].outcome, Outcome::Skipped(_)));
        assert_eq!(verdicts[3].check, SCENARIO_EXPECTATIONS);
        assert_eq!(verdicts[3].outcome, Outcome::Pass);
    }

    #[test]
    fn an_uncited_wish_binds_the_reference_agents_only() {
        let steps = [step(1, true, None, None), step(2, false, None, None)];
        let mut bound = Vec::new();
        judge_expectations(&steps, "2025-11-25", true, &mut bound);
        assert_eq!(bound[0].outcome, Outcome::Fail);
        let mut free = Vec::new();
        judge_expectations(&steps, "2025-11-25", false, &mut free);
        assert!(
            matches!(&free[0].outcome, Outcome::Skipped(why) if why.contains("first: step 2: did 2")),
            "{:?}",
            free[0].outcome
        );
        let mut none = Vec::new();
        judge_expectations(&[], "2025-11-25", true, &mut none);
        assert_eq!(none[0].outcome, Outcome::NotObserved);
    }

    #[test]
    fn result_texts_must_hold_what_the_profile_wants() {
        let wanted = [ResultText {
            contains: Some("booked"),
            lacks: Some("error"),
        }];
        let good = [
            step(1, true, None, Some("booked: Lisbon")),
            step(2, true, None, None),
        ];
        let judged = judge_result_texts(&good, &wanted, "p", "2025-11-25");
        assert_eq!((judged.outcome, judged.examined), (Outcome::Pass, 1));
        let bad = [step(1, true, None, Some("error: no seats"))];
        let judged = judge_result_texts(&bad, &wanted, "p", "2025-11-25");
        assert_eq!(judged.outcome, Outcome::Fail);
        assert_eq!(judged.findings.len(), 2);
        let judged = judge_result_texts(&[step(1, true, None, None)], &wanted, "p", "2025-11-25");
        assert_eq!(judged.outcome, Outcome::NotObserved);
    }
}
