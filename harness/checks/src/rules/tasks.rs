//! Tasks: legal status transitions.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use std::collections::BTreeMap;

use serde_json::Value;

use super::support::delivered_in_order;
use crate::analysis::Analysis;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[Check {
    id: "tasks.legal_transitions",
    rules: &[Rule {
        versions: Versions::MODERN,
        level: Level::Must,
        section: "basic/utilities/tasks#task-status",
        quote: "Tasks move from working to input_required or a terminal status; terminal statuses are final.",
    }],
    needs: Needs::ServerTasks,
    run: task_transitions,
}];

fn task_transitions(a: &Analysis) -> Judged {
    let terminal = |s: &str| matches!(s, "completed" | "failed" | "cancelled");
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut judged = Judged::default();
    for (seq, _, message) in delivered_in_order(a) {
        let Some(result) = message.get("result") else {
            continue;
        };
        let (Some(id), Some(status)) = (
            result.get("taskId").and_then(Value::as_str),
            result.get("status").and_then(Value::as_str),
        ) else {
            continue;
        };
        judged.examined += 1;
        if let Some(previous) = last.get(id) {
            let legal = if terminal(previous) {
                previous == status
            } else {
                true
            };
            if !legal {
                judged.findings.push(Finding::at(
                    seq,
                    format!("task {id} went from {previous} to {status}"),
                    "a terminal status is final",
                ));
            }
        }
        last.insert(id.to_owned(), status.to_owned());
    }
    judged
}
