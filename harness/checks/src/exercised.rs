//! Whether each fault a scenario declared acted: a chaos case whose fault
//! never fired tested nothing of what it is about, so it is reported "fault
//! not exercised", never a pass. Pure: a function of the transcript.
//!
//! A declared fault (an `armed` record with an id and no exchange) is
//! exercised when a `fired` record carries its id. Otherwise the records say
//! why: no request matched its selector, or the stream it was matched to
//! ended before the fault's point (too few events, or a JSON answer rather
//! than a stream).

use serde::{Deserialize, Serialize};

use mcp_harness_wire::{Fault, FaultPhase};

use crate::analysis::{Analysis, FaultView};

/// A declared fault that never fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unexercised {
    /// The record that declared it.
    pub seq: u64,
    /// The fault.
    pub fault: Fault,
    /// Why it never fired, in one sentence.
    pub reason: String,
}

/// The declared faults of `a` that never fired, in declaration order.
pub fn unexercised_faults(a: &Analysis) -> Vec<Unexercised> {
    a.faults
        .iter()
        .filter(|f| f.phase == FaultPhase::Armed && f.exchange.is_none())
        .filter_map(|declared| {
            let id = declared.id?;
            let of_it = |phase: FaultPhase| {
                a.faults
                    .iter()
                    .filter(move |f| f.id == Some(id) && f.phase == phase)
            };
            if of_it(FaultPhase::Fired).next().is_some() {
                return None;
            }
            let matched: Vec<&FaultView> = of_it(FaultPhase::Armed)
                .filter(|f| f.exchange.is_some())
                .collect();
            Some(Unexercised {
                seq: declared.seq,
                fault: declared.fault.clone(),
                reason: why_not(a, declared, &matched),
            })
        })
        .collect()
}

/// Why `declared` never fired, given the exchanges it was matched to.
fn why_not(a: &Analysis, declared: &FaultView, matched: &[&FaultView]) -> String {
    let what = format!("`{}` ({})", declared.fault, declared.detail);
    let Some(last) = matched.last() else {
        return match &declared.fault {
            Fault::Stream { .. } => {
                format!("no request matched the fault {what}: the selected stream never opened")
            }
            _ => format!("the fault {what} never came to its point"),
        };
    };
    let exchange = last.exchange.unwrap_or_default();
    let Some(x) = a.exchanges.iter().find(|x| x.id == exchange) else {
        return format!("the fault {what} was matched to exchange {exchange}, which has no record");
    };
    let status = x
        .response
        .as_ref()
        .map(|(_, status, _)| status.to_string())
        .unwrap_or_else(|| "no answer".into());
    if x.events.is_empty() {
        format!(
            "the fault {what} was matched to exchange {exchange}, which was answered without a stream ({status}): there was no event to act on"
        )
    } else {
        format!(
            "the fault {what} was matched to exchange {exchange}, whose stream ended after {} events, before the fault's point",
            x.events.len()
        )
    }
}
