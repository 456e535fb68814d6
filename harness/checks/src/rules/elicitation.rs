//! Elicitation: only to clients that declared it, with a requested schema its version allows.
//! Fixtures: tests/every_check_can_fail.rs (a good and a bad transcript per check).

use serde_json::json;

use super::support::{only_if_declared, questions};
use crate::analysis::Analysis;
use crate::check::Transports;
use crate::check::{Check, Judged, Needs, Rule, Versions};
use crate::schema::official_schema;
use crate::verdict::{Finding, Level};

/// The checks of this room.
pub(crate) const CHECKS: &[Check] = &[
    Check {
        id: "elicitation.only_if_declared",
        rules: &[Rule {
            versions: Versions::from("2025-06-18"),
            level: Level::Must,
            section: "client/elicitation#capabilities",
            quote: "Clients that support elicitation MUST declare the elicitation capability; servers must not elicit from clients that did not.",
        }],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: elicitation_declared,
    },
    Check {
        id: "elicitation.requested_schema",
        rules: &[
            Rule {
                versions: Versions::between("2025-06-18", "2025-11-25"),
                level: Level::Must,
                section: "client/elicitation#requested-schema",
                quote: "The requestedSchema field allows servers to define the structure of the expected response using a restricted subset of JSON Schema: flat objects with primitive properties only (string, number, integer, boolean, and string enums), as the version's PrimitiveSchemaDefinition states.",
            },
            Rule {
                versions: Versions::from("2025-11-25"),
                level: Level::Must,
                section: "client/elicitation#requested-schema",
                quote: "The requestedSchema is a restricted subset of JSON Schema: flat objects whose properties are strings, numbers, booleans or enums (single- and multi-select, titled or untitled, legacy enumNames), with defaults, as the version's PrimitiveSchemaDefinition states.",
            },
        ],
        needs: Needs::Nothing,
        transports: Transports::Both,
        run: requested_schema_allowed,
    },
];

fn elicitation_declared(a: &Analysis) -> Judged {
    only_if_declared(a, "elicitation/create", "elicitation")
}

/// Each form elicitation's `requestedSchema`, judged by the negotiated version's
/// own definition of it (so a multi-select enum passes under 2025-11-25 and
/// fails under 2025-06-18).
fn requested_schema_allowed(a: &Analysis) -> Judged {
    let mut judged = Judged::default();
    let Some(schema) = official_schema(&a.version) else {
        return judged;
    };
    for (seq, _, params) in questions(a, "elicitation/create") {
        if params.get("requestedSchema").is_none() {
            continue; // a URL elicitation asks for no form
        }
        judged.examined += 1;
        // Asked as a request or inside an InputRequiredResult: judged as a request.
        let request =
            json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": params});
        let judgement = schema.judge(&request, None);
        for breach in judgement
            .breaches
            .iter()
            .filter(|b| b.pointer.starts_with("/params/requestedSchema"))
        {
            judged.findings.push(Finding::at(
                seq,
                breach.to_string(),
                format!(
                    "a requestedSchema the official {} schema allows",
                    schema.version()
                ),
            ));
        }
    }
    judged
}
