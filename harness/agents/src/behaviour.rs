//! What the reference agents say and decide: step lists, prompts, the price
//! confirmation schema, and how each answer maps to an outcome.
//!
//! Pure, deterministic, no I/O: the server module drives these over the wire.

use serde_json::{Value, json};

/// The fixed price the travel agent quotes.
pub const TRAVEL_PRICE_USD: u32 = 1200;
/// `maxTokens` of the research agent's sampling request.
pub const SUMMARY_MAX_TOKENS: u32 = 100;
/// Steps the long-running agent takes by default.
pub const LONG_RUNNING_STEPS: u32 = 50;
/// Seconds one step takes at time scale 1 (the original agents sleep 2 s a step).
pub const STEP_SECONDS: f64 = 2.0;

/// One progress notification: value (of 100) and message.
pub type Step = (f64, &'static str);

/// Travel agent: progress before asking the user to confirm the price.
pub const TRAVEL_BEFORE_CONFIRM: [Step; 3] = [
    (0.0, "Checking flights..."),
    (25.0, "Finding available dates..."),
    (50.0, "Confirming prices..."),
];
/// Travel agent: progress after the user confirmed.
pub const TRAVEL_AFTER_CONFIRM: [Step; 2] = [
    (75.0, "Booking flight..."),
    (100.0, "Trip booked successfully"),
];
/// Travel agent: the last progress when the user said no.
pub const TRAVEL_DECLINED: Step = (100.0, "Booking cancelled by user");

/// Research agent: progress before asking for a summary.
pub const RESEARCH_BEFORE_SUMMARY: [Step; 3] = [
    (0.0, "Gathering sources..."),
    (25.0, "Analyzing data..."),
    (50.0, "Summarizing findings..."),
];
/// Research agent: progress after the summary arrived.
pub const RESEARCH_AFTER_SUMMARY: [Step; 2] = [
    (75.0, "Finalizing report..."),
    (100.0, "Research completed successfully"),
];

/// The elicitation message for `destination`.
pub fn confirm_price_message(destination: &str) -> String {
    format!(
        "Please confirm the estimated price of ${TRAVEL_PRICE_USD} for your trip to {destination}"
    )
}

/// The elicitation's requested schema: a flat object of primitive properties.
pub fn confirm_price_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "confirm": {"type": "boolean", "title": "Confirm", "description": "Book the trip at this price"},
            "notes": {"type": "string", "title": "Notes", "description": "Anything the agent should know", "default": ""}
        },
        "required": ["confirm"]
    })
}

/// The sampling prompt for `topic`.
pub fn summary_prompt(topic: &str) -> String {
    format!("Please summarize the key findings for research on: {topic}")
}

/// The user's answer to the price confirmation, as the travel agent reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TravelDecision {
    /// Accepted with `confirm: true`: book, quoting the notes.
    Book {
        /// The user's notes ("" when none).
        notes: String,
    },
    /// Declined, or accepted with `confirm: false`.
    Declined,
    /// The user dismissed the question.
    Cancelled,
    /// The answer is not usable; nothing is booked.
    Invalid(String),
}

/// Read an elicitation result (`{"action": ..., "content": {...}}`) as a decision.
pub fn decide_travel(answer: &Value) -> TravelDecision {
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => {
            let content = answer.get("content");
            match content
                .and_then(|c| c.get("confirm"))
                .and_then(Value::as_bool)
            {
                Some(true) => TravelDecision::Book {
                    notes: content
                        .and_then(|c| c.get("notes"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                },
                Some(false) => TravelDecision::Declined,
                None => TravelDecision::Invalid(
                    "the accepted answer has no boolean `confirm` field".into(),
                ),
            }
        }
        Some("decline") => TravelDecision::Declined,
        Some("cancel") => TravelDecision::Cancelled,
        Some(other) => TravelDecision::Invalid(format!("unknown elicitation action `{other}`")),
        None => TravelDecision::Invalid("the answer has no `action`".into()),
    }
}

/// The text of a sampling result (`{"role", "content", "model"}`), if it has text.
pub fn sampled_text(result: &Value) -> Result<String, String> {
    if result.get("model").and_then(Value::as_str).is_none() {
        return Err("the sampling result has no `model`".into());
    }
    let content = result
        .get("content")
        .ok_or("the sampling result has no `content`")?;
    let blocks: Vec<&Value> = match content {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let text: Vec<&str> = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    if text.is_empty() {
        return Err("the sampling result has no text content".into());
    }
    Ok(text.join("\n"))
}

/// Final text of a booked trip.
pub fn booked_text(destination: &str, notes: &str) -> String {
    let notes = if notes.is_empty() { "none" } else { notes };
    format!("Trip to {destination} booked at ${TRAVEL_PRICE_USD}. Notes: {notes}")
}

/// Final text when the user said no.
pub fn declined_text(destination: &str) -> String {
    format!("Booking cancelled by user: nothing was booked for {destination}")
}

/// Final text when the user dismissed the question.
pub fn cancelled_text(destination: &str) -> String {
    format!("Booking cancelled: the price confirmation for {destination} was dismissed")
}

/// Final text when confirming failed (error reply, timeout, unusable answer).
pub fn confirm_failed_text(reason: &str) -> String {
    format!("Could not confirm the price: {reason}. Nothing was booked.")
}

/// Final text of a research run.
pub fn research_text(topic: &str, summary: &str) -> String {
    format!("Research on {topic} completed.\n\nSummary: {summary}")
}

/// Final text when the summary could not be had.
pub fn summary_failed_text(reason: &str) -> String {
    format!("Could not get a summary: {reason}")
}

/// Itinerary agent: the step before its first questions.
pub const ITINERARY_START: Step = (0.0, "Drafting the itinerary...");
/// Itinerary agent: the step before it asks for a seat.
pub const ITINERARY_SEAT: Step = (50.0, "Choosing a seat...");
/// Itinerary agent: the last step.
pub const ITINERARY_DONE: Step = (100.0, "Itinerary ready");
/// Nights the itinerary agent plans when the traveller does not say.
pub const DEFAULT_NIGHTS: u64 = 3;

/// The itinerary agent's first question, about the travel dates.
pub fn travel_dates_message(destination: &str) -> String {
    format!("When do you travel to {destination}, and for how many nights?")
}

/// The schema of the travel dates question.
pub fn travel_dates_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "start": {"type": "string", "format": "date", "title": "First day", "description": "The day you leave"},
            "nights": {"type": "integer", "minimum": 1, "maximum": 30, "title": "Nights", "default": DEFAULT_NIGHTS}
        },
        "required": ["start"]
    })
}

/// The itinerary agent's last question, about the seat.
pub const SEAT_MESSAGE: &str = "Window or aisle seat?";

/// The schema of the seat question.
pub fn seat_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "seat": {"type": "string", "enum": ["window", "aisle"], "title": "Seat"}
        },
        "required": ["seat"]
    })
}

/// The travel dates as the itinerary agent reads them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TravelDates {
    /// The first day.
    pub start: String,
    /// How many nights.
    pub nights: u64,
}

/// Read the answer to the dates question: `Ok(None)` when the traveller said no.
pub fn read_dates(answer: &Value) -> Result<Option<TravelDates>, String> {
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => {
            let content = answer.get("content");
            let start = content
                .and_then(|c| c.get("start"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or("the accepted answer has no `start` day")?;
            let nights = match content.and_then(|c| c.get("nights")) {
                None | Some(Value::Null) => DEFAULT_NIGHTS,
                Some(n) => n
                    .as_u64()
                    .filter(|n| (1..=30).contains(n))
                    .ok_or(format!("`nights` must be an integer from 1 to 30, got {n}"))?,
            };
            Ok(Some(TravelDates {
                start: start.to_owned(),
                nights,
            }))
        }
        _ => Ok(None),
    }
}

/// Read the answer to the seat question: the seat, or "any" when the traveller
/// did not choose.
pub fn read_seat(answer: &Value) -> Result<String, String> {
    if answer.get("action").and_then(Value::as_str) != Some("accept") {
        return Ok("any".into());
    }
    match answer.pointer("/content/seat").and_then(Value::as_str) {
        Some(seat @ ("window" | "aisle")) => Ok(seat.to_owned()),
        other => Err(format!("`seat` must be window or aisle, got {other:?}")),
    }
}

/// The first root of a `roots/list` result, where the itinerary is saved.
pub fn first_root(answer: &Value) -> Option<String> {
    answer
        .pointer("/roots/0/uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Final text of an itinerary.
pub fn itinerary_text(
    destination: &str,
    dates: &TravelDates,
    seat: &str,
    folder: Option<&str>,
) -> String {
    let saved = match folder {
        Some(folder) => format!("saved under {folder}"),
        None => "not saved (the client shared no folder)".into(),
    };
    format!(
        "Itinerary for {destination}: from {}, {} nights, {seat} seat; {saved}",
        dates.start, dates.nights
    )
}

/// Final text when the traveller gave no dates.
pub fn itinerary_cancelled_text(destination: &str) -> String {
    format!("Itinerary cancelled by user: no dates for {destination}")
}

/// Progress value of long-running step `step` (1-based) of `steps`.
pub fn long_running_progress(step: u32, steps: u32) -> f64 {
    f64::from(step) * 100.0 / f64::from(steps.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn travel_decisions() {
        let book = decide_travel(
            &json!({"action": "accept", "content": {"confirm": true, "notes": "aisle"}}),
        );
        assert_eq!(
            book,
            TravelDecision::Book {
                notes: "aisle".into()
            }
        );
        let no_notes = decide_travel(&json!({"action": "accept", "content": {"confirm": true}}));
        assert_eq!(
            no_notes,
            TravelDecision::Book {
                notes: String::new()
            }
        );
        assert_eq!(
            decide_travel(&json!({"action": "accept", "content": {"confirm": false}})),
            TravelDecision::Declined
        );
        assert_eq!(
            decide_travel(&json!({"action": "decline"})),
            TravelDecision::Declined
        );
        assert_eq!(
            decide_travel(&json!({"action": "cancel"})),
            TravelDecision::Cancelled
        );
        for bad in [
            json!({"action": "accept"}),
            json!({"action": "accept", "content": {"confirm": "yes"}}),
            json!({}),
            json!({"action": "maybe"}),
        ] {
            assert!(
                matches!(decide_travel(&bad), TravelDecision::Invalid(_)),
                "{bad}"
            );
        }
    }

    #[test]
    fn sampled_text_reads_single_and_array_content() {
        let single =
            json!({"role": "assistant", "model": "m", "content": {"type": "text", "text": "hi"}});
        assert_eq!(sampled_text(&single), Ok("hi".into()));
        let array = json!({"role": "assistant", "model": "m", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]});
        assert_eq!(sampled_text(&array), Ok("a\nb".into()));
        assert!(
            sampled_text(&json!({"role": "assistant", "content": {"type": "text", "text": "x"}}))
                .is_err()
        );
        assert!(sampled_text(&json!({"model": "m", "content": {"type": "image", "data": "", "mimeType": "image/png"}})).is_err());
    }

    #[test]
    fn messages_match_the_design() {
        assert_eq!(
            confirm_price_message("Rome"),
            "Please confirm the estimated price of $1200 for your trip to Rome"
        );
        assert_eq!(
            summary_prompt("AI trends"),
            "Please summarize the key findings for research on: AI trends"
        );
        assert_eq!(long_running_progress(25, 50), 50.0);
    }
}
