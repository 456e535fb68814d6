//! Authorization, the server as an OAuth protected resource: a token it never
//! issued is refused with 401. Judged only in a run that carries credentials
//! (`run --bearer-token`): a server that needs none is outside the
//! authorization spec ("Authorization is OPTIONAL").
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use mcp_harness_wire::credential::{INVALID_BEARER_TOKEN, fingerprint};

use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[Check {
    id: "auth.invalid_token_401",
    rules: &[Rule {
        versions: Versions::from("2025-03-26"),
        level: Level::Must,
        section: "basic/authorization#token-handling",
        quote: "Invalid or expired tokens MUST receive a HTTP 401 response.",
    }],
    needs: Needs::Nothing,
    transports: Transports::HttpOnly,
    run: invalid_token_401,
}];

/// Every request that carried [`INVALID_BEARER_TOKEN`], in a transcript whose
/// other requests carry a credential of the run's, must be answered 401.
fn invalid_token_401(a: &Analysis) -> Judged {
    let invalid = fingerprint(&format!("Bearer {INVALID_BEARER_TOKEN}"));
    let mut judged = Judged::default();
    let protected = a.exchanges.iter().any(|x| {
        x.headers
            .authorization
            .as_ref()
            .is_some_and(|f| *f != invalid)
    });
    if !protected {
        return judged;
    }
    for x in &a.exchanges {
        if x.headers.authorization.as_ref() != Some(&invalid) {
            continue;
        }
        let Some(status) = x.status() else { continue };
        judged.examined += 1;
        if status != 401 {
            judged.findings.push(Finding::at(
                x.request_seq,
                format!(
                    "a {} with a bearer token no authorization server issued was answered {status}",
                    x.method
                ),
                "401 Unauthorized",
            ));
        }
    }
    judged
}
