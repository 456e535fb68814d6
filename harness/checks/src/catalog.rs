//! The catalog: every check of every room, listed once. The server catalog
//! judges a server under test; the client catalog a client under test.

use std::sync::LazyLock;

use crate::check::Check;
use crate::rules::{
    caching, client, elicitation, headers, jsonrpc, logging, mrtr, pagination, progress, resources,
    sampling, schema, security, sessions, stateless, stdio, streams, subscriptions, tasks, tools,
    utilities,
};

pub use crate::rules::jsonrpc::UNKNOWN_METHOD;
pub use crate::rules::pagination::INVALID_CURSOR;
pub use crate::rules::resources::MISSING_RESOURCE_URI;
pub use crate::rules::support::is_response;

static SERVER: LazyLock<Vec<Check>> = LazyLock::new(|| {
    [
        jsonrpc::CHECKS,
        schema::SERVER_CHECKS,
        progress::CHECKS,
        streams::CHECKS,
        subscriptions::CHECKS,
        sessions::CHECKS,
        stateless::CHECKS,
        headers::SERVER_CHECKS,
        security::CHECKS,
        elicitation::CHECKS,
        sampling::CHECKS,
        mrtr::CHECKS,
        logging::CHECKS,
        resources::CHECKS,
        tools::CHECKS,
        caching::CHECKS,
        pagination::CHECKS,
        utilities::CHECKS,
        tasks::CHECKS,
        stdio::CHECKS,
    ]
    .concat()
});

static CLIENT: LazyLock<Vec<Check>> = LazyLock::new(|| {
    [
        client::CHECKS,
        headers::CLIENT_CHECKS,
        schema::CLIENT_CHECKS,
        stdio::CLIENT_CHECKS,
    ]
    .concat()
});

/// Every check on a server.
pub fn catalog() -> &'static [Check] {
    &SERVER
}

/// Every check on a client.
pub fn client_catalog() -> &'static [Check] {
    &CLIENT
}
