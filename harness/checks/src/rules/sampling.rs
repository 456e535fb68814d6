//! Sampling: only to clients that declared it.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use super::support::only_if_declared;
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::verdict::Level;

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[Check {
    id: "sampling.only_if_declared",
    rules: &[Rule {
        versions: Versions::ALL,
        level: Level::Must,
        section: "client/sampling#capabilities",
        quote: "Clients that support sampling MUST declare the sampling capability; servers must not sample from clients that did not.",
    }],
    needs: Needs::Nothing,
    transports: Transports::Both,
    run: sampling_declared,
}];

fn sampling_declared(a: &Analysis) -> Judged {
    only_if_declared(a, "sampling/createMessage", "sampling")
}
