//! Logging: log messages only from a server that declared logging, and from
//! 2026-07-28 only for requests that asked for a log level.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use super::support::method_of;
use serde_json::Value;

use crate::analysis::{Analysis, Exchange};
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "logging.only_if_declared",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "server/utilities/logging#capabilities",
            quote: "Servers that emit log message notifications MUST declare the logging capability.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: logging_declared,
    },
    Check {
        id: "logging.only_when_requested",
        rules: &[Rule {
            versions: Versions::MODERN,
            level: Level::Must,
            section: "server/utilities/logging",
            quote: "io.modelcontextprotocol/logLevel: the desired log level for this request. If absent, the server MUST NOT send any notifications/message notifications for this request.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: logging_only_when_requested,
    },
];

fn logging_declared(a: &Analysis) -> Judged {
    let declared = a
        .server_capabilities
        .as_ref()
        .and_then(|c| c.get("logging"))
        .is_some();
    let mut judged = Judged::default();
    for x in &a.exchanges {
        for (seq, message, _) in x.server_messages() {
            if method_of(message) == Some("notifications/message") {
                judged.examined += 1;
                if !declared {
                    judged.findings.push(Finding::at(
                        seq,
                        "a log message from a server that did not declare `logging`",
                        "declare `logging` before sending notifications/message",
                    ));
                }
            }
        }
    }
    judged
}

/// The log level a request asked for in its `_meta`, if any.
fn requested_level(x: &Exchange) -> Option<&Value> {
    x.body
        .as_ref()?
        .pointer("/params/_meta/io.modelcontextprotocol~1logLevel")
}

fn logging_only_when_requested(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in a.exchanges.iter().filter(|x| x.rpc_id().is_some()) {
        let asked = requested_level(x).is_some();
        // A request's log messages ride its own response stream.
        for (seq, message, _) in x.server_messages() {
            if method_of(message) != Some("notifications/message") {
                continue;
            }
            judged.examined += 1;
            if !asked {
                judged.findings.push(Finding::at(
                    seq,
                    format!(
                        "a log message on the stream of request {} ({}), which set no io.modelcontextprotocol/logLevel",
                        x.rpc_id().cloned().unwrap_or_default(),
                        x.rpc_method().unwrap_or("?")
                    ),
                    "no notifications/message for a request without a log level",
                ));
            }
        }
    }
    judged
}
