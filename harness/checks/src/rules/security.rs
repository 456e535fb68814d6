//! Security: foreign Origins refused; a server the harness started listens
//! on localhost only.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "security.origin_403",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Must,
            section: "basic/transports#security-warning",
            quote: "If the Origin header is present and invalid, servers MUST respond with HTTP 403 Forbidden.",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: origin_403,
    },
    Check {
        id: "security.binds_localhost",
        rules: &[Rule {
            versions: Versions::ALL,
            level: Level::Should,
            section: "basic/transports#security-warning",
            quote: "When running locally, servers SHOULD bind only to localhost (127.0.0.1) rather than all network interfaces (0.0.0.0) (judged on a server the harness started, from the sockets it listens on).",
        }],
        needs: Needs::Nothing,
        transports: Transports::HttpOnly,
        run: binds_localhost,
    },
];

/// A server started for local use whose listening socket is bound to the
/// unspecified address (`0.0.0.0`, `[::]`) accepts connections from every
/// interface.
fn binds_localhost(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for (seq, addresses) in &a.listening {
        judged.examined += 1;
        let every: Vec<String> = addresses
            .iter()
            .filter(|address| address.ip().is_unspecified())
            .map(ToString::to_string)
            .collect();
        if !every.is_empty() {
            judged.findings.push(Finding::at(
                *seq,
                format!(
                    "the server listens on {} (every network interface)",
                    every.join(", ")
                ),
                "127.0.0.1 (or ::1) only",
            ));
        }
    }
    judged
}

fn origin_is_local(origin: &str) -> bool {
    let host = origin.split("://").nth(1).unwrap_or(origin);
    let host = host.split('/').next().unwrap_or(host);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn origin_403(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    for x in &a.exchanges {
        let Some(origin) = &x.headers.origin else {
            continue;
        };
        if origin_is_local(origin) {
            continue;
        }
        let Some(status) = x.status() else { continue };
        judged.examined += 1;
        if status != 403 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!("a request from Origin {origin} got {status}"),
                "403 Forbidden for a foreign Origin",
            ));
        }
    }
    judged
}
