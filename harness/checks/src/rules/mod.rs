//! The rules, a room per spec area. Each module declares its checks beside
//! the helpers they need; [`crate::catalog`] only lists them.

pub(crate) mod auth;
pub(crate) mod caching;
pub(crate) mod client;
pub(crate) mod elicitation;
pub(crate) mod headers;
pub(crate) mod jsonrpc;
pub(crate) mod logging;
pub(crate) mod mrtr;
pub(crate) mod pagination;
pub(crate) mod progress;
pub(crate) mod resources;
pub(crate) mod sampling;
pub(crate) mod schema;
pub(crate) mod security;
pub(crate) mod sessions;
pub(crate) mod stateless;
pub(crate) mod stdio;
pub(crate) mod streams;
pub(crate) mod subscriptions;
pub(crate) mod support;
pub(crate) mod tasks;
pub(crate) mod tools;
pub(crate) mod utilities;
