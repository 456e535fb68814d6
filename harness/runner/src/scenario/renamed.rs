//! The scenarios' former ids. Built-in scenario folders were once named by
//! feature and fault (`travel/`, `chaos/`); they are named by the spec area
//! they exercise now, mirroring `checks/src/rules/` (`elicitation/`,
//! `streams/`), with chaos and the transports as tags. A filter, a baseline
//! line or a profile's scenario pattern written with a former id still finds
//! its scenario for one release, with a note saying the new id.

/// (former id, current id), one per moved scenario.
pub const RENAMED: &[(&str, &str)] = &[
    (
        "chaos/cut_after_progress",
        "streams/travel_cut_after_progress",
    ),
    (
        "chaos/cut_after_question",
        "streams/travel_cut_after_question",
    ),
    (
        "chaos/cut_before_response",
        "streams/travel_cut_before_response",
    ),
    ("chaos/latency", "streams/travel_latency"),
    ("chaos/network_down", "jsonrpc/network_down"),
    ("chaos/reset_peer", "jsonrpc/reset_peer"),
    ("chaos/restart_mid_task", "streams/restart_mid_task"),
    ("chaos/resume_late", "streams/research_resume_late"),
    ("chaos/slicer", "streams/research_slicer"),
    ("chaos/stall", "progress/stall"),
    ("clients/cut_mid_stream", "client/cut_mid_stream"),
    ("clients/cut_mid_stream_2026", "client/cut_mid_stream_2026"),
    ("clients/expired_session", "client/expired_session"),
    ("clients/research", "client/research"),
    ("clients/sse_polling", "client/sse_polling"),
    ("clients/tasks", "client/tasks"),
    ("clients/travel", "client/travel"),
    (
        "concurrency/get_stream_during_cut",
        "streams/get_stream_during_cut",
    ),
    ("concurrency/load", "streams/load"),
    ("concurrency/two_calls_one_cut", "streams/two_calls_one_cut"),
    (
        "concurrency/two_sessions_one_cut",
        "streams/two_sessions_one_cut",
    ),
    ("discovery/completions", "utilities/completions"),
    ("discovery/log_level", "logging/log_level"),
    ("discovery/ping", "utilities/ping"),
    ("discovery/prompts", "pagination/prompts"),
    ("discovery/resources", "pagination/resources"),
    ("discovery/tools", "tools/list"),
    ("long_running/logging", "logging/per_step"),
    (
        "regressions/explored_fc138d89eae2e591",
        "streams/explored_fc138d89eae2e591",
    ),
    ("research/error_reply", "sampling/error_reply"),
    ("research/no_answer", "sampling/no_answer"),
    ("research/summary", "sampling/summary"),
    ("research/undeclared", "sampling/undeclared"),
    ("sessions/foreign_origin", "security/foreign_origin"),
    ("sessions/get_stream", "streams/get_stream"),
    ("sessions/side_by_side", "progress/side_by_side_sessions"),
    ("stateless/header_mismatch", "headers/mismatch"),
    ("travel/accept", "elicitation/accept"),
    ("travel/cancel", "elicitation/cancel"),
    ("travel/decline", "elicitation/decline"),
    ("travel/error_reply", "elicitation/error_reply"),
    ("travel/no_answer", "elicitation/no_answer"),
    ("travel/no_answer_stateless", "mrtr/no_answer"),
    ("travel/unconfirmed", "elicitation/unconfirmed"),
    ("travel/undeclared", "elicitation/undeclared"),
];

/// The current id of a case name written with a former id: the scenario id,
/// with an optional role suffix (`.elicits`) and `@version` kept as they are.
/// `None` when the name is not a former one.
pub fn current_name(name: &str) -> Option<String> {
    let (id, rest) = split_id(name);
    RENAMED
        .iter()
        .find(|(former, _)| *former == id)
        .map(|(_, current)| format!("{current}{rest}"))
}

/// The former name of a case name written with a current id, if it moved.
pub fn former_name(name: &str) -> Option<String> {
    let (id, rest) = split_id(name);
    RENAMED
        .iter()
        .find(|(_, current)| *current == id)
        .map(|(former, _)| format!("{former}{rest}"))
}

/// A case name's scenario id and what follows it (`.role`, `@version`).
fn split_id(name: &str) -> (&str, &str) {
    let end = name.find(['.', '@']).unwrap_or(name.len());
    name.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_former_name_maps_to_its_current_one_and_back() {
        assert_eq!(
            current_name("travel/accept@2025-06-18").as_deref(),
            Some("elicitation/accept@2025-06-18")
        );
        assert_eq!(
            former_name("elicitation/accept@2025-06-18").as_deref(),
            Some("travel/accept@2025-06-18")
        );
        assert_eq!(
            current_name("chaos/latency").as_deref(),
            Some("streams/travel_latency")
        );
        assert_eq!(current_name("streams/cut_first.progress@2025-06-18"), None);
        assert_eq!(former_name("streams/cut_first.progress@2025-06-18"), None);
    }

    #[test]
    fn every_current_id_is_a_built_in_scenario_and_no_former_id_is() {
        let ids: std::collections::BTreeSet<String> = crate::builtin::files_under("")
            .into_iter()
            .map(|(path, _)| {
                path.strip_prefix(crate::builtin::ORIGIN)
                    .unwrap_or(&path)
                    .with_extension("")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        for (former, current) in RENAMED {
            assert!(
                ids.contains(*current),
                "{current} is not a built-in scenario"
            );
            assert!(
                !ids.contains(*former),
                "{former} is still a built-in scenario"
            );
        }
    }
}
