//! The catalog: every check of every room, listed once. The server catalog
//! judges a server under test; the client catalog a client under test.

use std::sync::LazyLock;

use crate::check::Check;
use crate::rules::{
    auth, caching, client, elicitation, headers, jsonrpc, logging, mrtr, pagination, progress,
    resources, sampling, schema, security, sessions, stateless, stdio, streams, subscriptions,
    tasks, tools, utilities,
};

pub use crate::rules::jsonrpc::UNKNOWN_METHOD;
pub use crate::rules::pagination::INVALID_CURSOR;
pub use crate::rules::resources::MISSING_RESOURCE_URI;
pub use crate::rules::support::is_response;

/// The spec areas, each a room of `rules/` with the checks it declares, in
/// the order a report lists them. Scenario folders mirror these names.
const SERVER_AREAS: &[(&str, &[Check])] = &[
    ("jsonrpc", jsonrpc::CHECKS),
    ("schema", schema::SERVER_CHECKS),
    ("progress", progress::CHECKS),
    ("streams", streams::CHECKS),
    ("subscriptions", subscriptions::CHECKS),
    ("sessions", sessions::CHECKS),
    ("stateless", stateless::CHECKS),
    ("headers", headers::SERVER_CHECKS),
    ("security", security::CHECKS),
    ("auth", auth::CHECKS),
    ("elicitation", elicitation::CHECKS),
    ("sampling", sampling::CHECKS),
    ("mrtr", mrtr::CHECKS),
    ("logging", logging::CHECKS),
    ("resources", resources::CHECKS),
    ("tools", tools::CHECKS),
    ("caching", caching::CHECKS),
    ("pagination", pagination::CHECKS),
    ("utilities", utilities::CHECKS),
    ("tasks", tasks::CHECKS),
    ("stdio", stdio::CHECKS),
];

/// The areas of the checks on a client under test.
const CLIENT_AREAS: &[(&str, &[Check])] = &[
    ("client", client::CHECKS),
    ("headers", headers::CLIENT_CHECKS),
    ("schema", schema::CLIENT_CHECKS),
    ("stdio", stdio::CLIENT_CHECKS),
];

static SERVER: LazyLock<Vec<Check>> = LazyLock::new(|| {
    SERVER_AREAS
        .iter()
        .flat_map(|(_, checks)| checks.iter().copied())
        .collect()
});

static CLIENT: LazyLock<Vec<Check>> = LazyLock::new(|| {
    CLIENT_AREAS
        .iter()
        .flat_map(|(_, checks)| checks.iter().copied())
        .collect()
});

/// The spec area (the room of `rules/`, e.g. `streams`) that declares the
/// check with this id, on a server or a client; `None` for an unknown id.
pub fn area_of(check_id: &str) -> Option<&'static str> {
    SERVER_AREAS
        .iter()
        .chain(CLIENT_AREAS)
        .find(|(_, checks)| checks.iter().any(|c| c.id == check_id))
        .map(|(area, _)| *area)
}

/// The names of the spec areas, server and client, each once.
pub fn areas() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for (area, _) in SERVER_AREAS.iter().chain(CLIENT_AREAS) {
        if !names.contains(area) {
            names.push(area);
        }
    }
    names
}

/// Every check on a server.
pub fn catalog() -> &'static [Check] {
    &SERVER
}

/// Every check on a client.
pub fn client_catalog() -> &'static [Check] {
    &CLIENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_one_area_and_areas_are_the_rooms_of_rules() {
        assert_eq!(area_of("stream.nothing_lost"), Some("streams"));
        assert_eq!(area_of("response.exactly_once"), Some("jsonrpc"));
        assert_eq!(area_of("client.waits_retry"), Some("client"));
        assert_eq!(area_of("no.such_check"), None);
        for check in catalog().iter().chain(client_catalog()) {
            assert!(area_of(check.id).is_some(), "{} has no area", check.id);
        }
        let rooms = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().replace(".rs", ""))
            .filter(|room| room != "mod" && room != "support")
            .collect::<std::collections::BTreeSet<_>>();
        let areas = areas().into_iter().map(String::from).collect();
        assert_eq!(rooms, areas, "an area per room of rules/");
    }
}
