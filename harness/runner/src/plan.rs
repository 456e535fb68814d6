//! The plan stage: which cases a run has, and in which order they start.
//! Pure. Cases start longest first, so the few that wait (a silent client, a
//! restart, a long resume) overlap with the many short ones instead of
//! finishing the run alone; reports keep the order of the scenario files.

use std::time::Duration;

use crate::scenario::{ElicitationAnswer, SamplingAnswer, Scenario, Step};

/// What a case costs before its steps: a session, a proxy, maybe a server.
const SET_UP_MS: u64 = 300;

/// About how long a case of `scenario` takes, from its steps alone: its
/// waits, resumes and restarts; a client that never answers waits for the
/// server's own time limit, at most `call_limit`.
pub fn expected_ms(scenario: &Scenario, call_limit: Duration) -> u64 {
    let silent = mostly_waits(scenario);
    let call = |restarts: bool| -> u64 {
        let mut ms = 200 + scenario.client.resume_delay_ms;
        if silent {
            ms += call_limit.as_millis() as u64;
        }
        if restarts {
            ms += 2_000;
        }
        ms
    };
    let restarts = |c: &crate::scenario::CallStep| {
        c.restart_after_events.is_some() || c.restart_after_task_polls.is_some()
    };
    SET_UP_MS
        + scenario
            .steps
            .iter()
            .map(|step| match step {
                Step::Call(c) => call(restarts(c)),
                Step::Parallel { calls } => {
                    calls.iter().map(|c| call(restarts(c))).max().unwrap_or(0)
                }
                Step::Resume(resume) => resume.wait_ms,
                Step::AwaitNotifications { within_ms, .. } => *within_ms / 4,
                Step::Wait { ms } => *ms,
                Step::Load { sessions, .. } => 50 * u64::from(*sessions),
                _ => 20,
            })
            .sum::<u64>()
}

/// How a filter given to `run` (or `client-test`) picked a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMatch {
    /// Not at all.
    No,
    /// Its name (`streams/cut_first.progress@2025-06-18`) contains the filter.
    Name,
    /// The filter is one of its tags (`chaos`, `http`, `stdio`).
    Tag,
    /// Only its former name contains the filter (`travel/` for
    /// `elicitation/accept`): it runs, with a note, when the filter picks no
    /// case by name or tag.
    FormerName,
}

/// How `filter` picks the case `name` (`id@version`) with `tags`.
pub fn filter_match(filter: &str, name: &str, tags: &[&str]) -> FilterMatch {
    if name.contains(filter) {
        FilterMatch::Name
    } else if tags.contains(&filter) {
        FilterMatch::Tag
    } else if crate::scenario::renamed::former_name(name).is_some_and(|f| f.contains(filter)) {
        FilterMatch::FormerName
    } else {
        FilterMatch::No
    }
}

/// The cases of `names` (each with its tags) that `filters` pick (all when
/// there is none), as indexes. A filter that picks no case by its name or
/// tags picks those whose former name it matches (`travel/` before scenario
/// folders were named by spec area), with a note saying the new id.
pub fn pick(names: &[(String, Vec<&str>)], filters: &[String]) -> (Vec<usize>, Vec<String>) {
    if filters.is_empty() {
        return ((0..names.len()).collect(), Vec::new());
    }
    let mut picked = Vec::new();
    let mut notes = Vec::new();
    for filter in filters {
        let picks = |how: &[FilterMatch]| -> Vec<usize> {
            names
                .iter()
                .enumerate()
                .filter(|(_, (name, tags))| how.contains(&filter_match(filter, name, tags)))
                .map(|(index, _)| index)
                .collect()
        };
        let mut chosen = picks(&[FilterMatch::Name, FilterMatch::Tag]);
        if chosen.is_empty() {
            chosen = picks(&[FilterMatch::FormerName]);
            if let Some(&first) = chosen.first() {
                let name = &names[first].0;
                let former = crate::scenario::renamed::former_name(name).unwrap_or_default();
                notes.push(format!(
                    "the filter `{filter}` names scenarios by a former id (`{former}` is now `{name}`; scenario folders are named by spec area: `mcp-harness scenarios list`)"
                ));
            }
        }
        for index in chosen {
            if !picked.contains(&index) {
                picked.push(index);
            }
        }
    }
    picked.sort_unstable();
    (picked, notes)
}

/// Whether a case of `scenario` spends its time waiting rather than working:
/// its client never answers the server's question, so the case lasts as long
/// as the server (or the call limit) lets the question stand.
pub fn mostly_waits(scenario: &Scenario) -> bool {
    matches!(scenario.client.elicitation, ElicitationAnswer::Silence)
        || matches!(scenario.client.sampling, SamplingAnswer::Silence)
}

/// The order to start `cases` in (indexes into it): longest expected first,
/// ties in their given order.
pub fn longest_first(expected: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..expected.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(expected[i]));
    order
}

/// `order` split into the two lanes a run plays side by side, each keeping
/// its order: the cases that mostly wait (`waits`), and the others. Each lane
/// has `--jobs` slots, so the waiting cases never hold the working ones back.
pub fn lanes(order: Vec<usize>, waits: impl Fn(usize) -> bool) -> (Vec<usize>, Vec<usize>) {
    order.into_iter().partition(|&at| !waits(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(text: &str) -> Scenario {
        let head = "description = \"x\"\nversions = [\"2025-11-25\"]\n";
        crate::scenario::parse(Path::new("x.toml"), &format!("{head}{text}")).unwrap()
    }

    #[test]
    fn a_silent_client_waits_longest_and_a_restart_longer_than_a_plain_call() {
        let limit = Duration::from_secs(30);
        let plain = expected_ms(
            &scenario("[[steps]]\ndo = \"call\"\ntool = \"elicits\"\n"),
            limit,
        );
        let silent = expected_ms(
            &scenario(
                "[client]\nelicitation = \"silence\"\n[[steps]]\ndo = \"call\"\ntool = \"elicits\"\n",
            ),
            limit,
        );
        let restart = expected_ms(
            &scenario("[[steps]]\ndo = \"call\"\ntool = \"elicits\"\nrestart_after_events = 2\n"),
            limit,
        );
        assert!(
            silent > 30_000 && silent > restart && restart > plain,
            "{silent} {restart} {plain}"
        );
    }

    #[test]
    fn waiting_cases_get_a_lane_of_their_own_and_both_keep_the_order() {
        // 0 and 3 wait (a silent client); they start first, as longest.
        let (working, waiting) = lanes(vec![0, 3, 1, 2, 4], |at| at == 0 || at == 3);
        assert_eq!(working, vec![1, 2, 4]);
        assert_eq!(waiting, vec![0, 3]);
    }

    #[test]
    fn the_order_is_longest_first_and_stable() {
        assert_eq!(longest_first(&[5, 30, 5, 10]), vec![1, 3, 0, 2]);
        assert!(longest_first(&[]).is_empty());
    }

    #[test]
    fn filters_pick_by_name_tag_or_former_name_and_say_so() {
        let names = vec![
            (
                "elicitation/accept@2025-06-18".to_owned(),
                vec!["http", "stdio"],
            ),
            (
                "streams/travel_latency@2025-06-18".to_owned(),
                vec!["chaos", "http"],
            ),
            (
                "streams/cut_first.progress@2025-06-18".to_owned(),
                vec!["chaos", "http"],
            ),
        ];
        let pick = |filters: &[&str]| {
            pick(
                &names,
                &filters.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(pick(&[]), (vec![0, 1, 2], vec![]));
        assert_eq!(pick(&["chaos"]).0, vec![1, 2]);
        assert_eq!(pick(&["cut_first"]).0, vec![2]);
        let (picked, notes) = pick(&["travel/"]);
        assert_eq!(picked, vec![0]);
        assert!(
            notes[0].contains("`travel/accept@2025-06-18` is now `elicitation/accept@2025-06-18`"),
            "{notes:?}"
        );
        // `chaos/` names no tag: it finds the scenarios that were under chaos/.
        let (picked, notes) = pick(&["chaos/"]);
        assert_eq!(picked, vec![1]);
        assert_eq!(notes.len(), 1);
        assert_eq!(pick(&["nothing"]), (vec![], vec![]));
        // A filter that names current scenarios does not also pick those
        // whose former name it matches (security/foreign_origin was
        // sessions/foreign_origin).
        let names = vec![
            ("sessions/deleted@2025-06-18".to_owned(), vec!["http"]),
            (
                "security/foreign_origin@2025-06-18".to_owned(),
                vec!["http"],
            ),
        ];
        let filters = vec!["sessions/".to_owned()];
        assert_eq!(super::pick(&names, &filters), (vec![0], vec![]));
        assert_eq!(
            filter_match("stdio", "elicitation/accept@2025-06-18", &["stdio"]),
            FilterMatch::Tag
        );
    }
}
