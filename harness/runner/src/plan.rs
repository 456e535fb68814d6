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
                Step::Resume { wait_ms, .. } => *wait_ms,
                Step::AwaitNotifications { within_ms, .. } => *within_ms / 4,
                Step::Wait { ms } => *ms,
                Step::Load { sessions, .. } => 50 * u64::from(*sessions),
                _ => 20,
            })
            .sum::<u64>()
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
}
