//! `itinerary_agent`: the tool that asks more than one thing, for the multi
//! round-trip cases a single question cannot show.
//!
//! - 2026-07-28: the first `InputRequiredResult` asks two questions at once, the
//!   travel dates (elicitation) and a folder to save to (`roots/list`, only of
//!   a client that declared `roots`); the second round asks for a seat. What
//!   the first round learnt travels in the sealed `requestState`. A retry that
//!   lacks an answer is asked again; a misshapen answer is refused (-32602);
//!   answers to questions never asked are ignored.
//! - Legacy sessions: the same three questions, asked live one after the other.

use rmcp::model::{
    CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams, InputRequest,
    InputRequests, InputRequiredResult,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::flows::{Reporter, ToolArgs, ToolKind};
use super::inputs::{self, Asked, Gathered};
use super::{ReferenceAgents, is_modern};
use crate::behaviour::{self as script, TravelDates};
use crate::runs::RunStatus;

/// `inputRequests` key of the dates question.
const DATES: &str = "travel_dates";
/// `inputRequests` key of the roots question.
const FOLDER: &str = "save_folder";
/// `inputRequests` key of the seat question.
const SEAT: &str = "seat";

/// What a sealed `requestState` carries between the itinerary's rounds.
#[derive(Debug, Serialize, Deserialize)]
struct ItineraryState {
    run: String,
    destination: String,
    /// Whether the client declared `roots` (so the folder was asked).
    roots: bool,
    /// The dates, once answered (then the seat is being asked).
    dates: Option<TravelDates>,
    /// The folder, once answered.
    folder: Option<String>,
}

impl ItineraryState {
    /// The questions of this state's round, by key.
    fn asked(&self) -> Vec<(&'static str, Asked)> {
        match (&self.dates, self.roots) {
            (None, true) => vec![(DATES, Asked::Elicitation), (FOLDER, Asked::Roots)],
            (None, false) => vec![(DATES, Asked::Elicitation)],
            (Some(_), _) => vec![(SEAT, Asked::Elicitation)],
        }
    }

    /// The round's questions as `inputRequests`, only those in `keys`.
    fn input_requests(&self, keys: &[String]) -> InputRequests {
        self.asked()
            .into_iter()
            .filter(|(key, _)| keys.iter().any(|k| k == key))
            .map(|(key, _)| (key.to_owned(), question(key, &self.destination)))
            .collect()
    }
}

/// The question under `key`.
fn question(key: &str, destination: &str) -> InputRequest {
    let form = |message: String, schema: Value| {
        let schema = serde_json::from_value(schema)
            .expect("the itinerary schemas are valid elicitation schemas");
        InputRequest::Elicitation(ElicitRequest::new(
            ElicitRequestParams::FormElicitationParams {
                meta: None,
                message,
                requested_schema: schema,
            },
        ))
    };
    match key {
        DATES => form(
            script::travel_dates_message(destination),
            script::travel_dates_schema(),
        ),
        SEAT => form(script::SEAT_MESSAGE.into(), script::seat_schema()),
        _ => serde_json::from_value(json!({"method": "roots/list"}))
            .expect("a roots/list request always decodes"),
    }
}

fn keys(asked: &[(&'static str, Asked)]) -> Vec<String> {
    asked.iter().map(|(k, _)| (*k).to_owned()).collect()
}

impl ReferenceAgents {
    /// First call of `itinerary_agent`.
    pub(super) async fn itinerary_start(
        &self,
        destination: String,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caps = ctx.client_capabilities();
        let roots = caps.as_ref().is_some_and(|c| c.roots.is_some());
        let args = ToolArgs::Itinerary {
            destination: destination.clone(),
        };
        let run = self
            .shared
            .runs
            .start(
                ToolKind::Itinerary.name(),
                serde_json::to_value(&args).unwrap_or_default(),
                super::credential_of(ctx),
            )
            .await
            .map_err(super::store_error)?;
        let reporter = self.reporter(&run, Some(ctx));
        reporter.step(script::ITINERARY_START).await;
        if !is_modern(ctx) {
            return Ok(self
                .itinerary_live(&reporter, &destination, roots, ctx)
                .await
                .into());
        }
        let state = ItineraryState {
            run: run.id,
            destination,
            roots,
            dates: None,
            folder: None,
        };
        self.itinerary_round(&reporter, state).await
    }

    /// 2026-07-28: ask the questions of `state`'s round.
    async fn itinerary_round(
        &self,
        reporter: &Reporter,
        state: ItineraryState,
    ) -> Result<CallToolResponse, McpError> {
        let requests = state.input_requests(&keys(&state.asked()));
        let pending = serde_json::to_value(&requests).unwrap_or_default();
        reporter.waiting_for(pending.clone()).await;
        let sealed = self.seal(&state, ToolKind::Itinerary.name())?;
        let reason = format!(
            "no answer within the input timeout of {:?}",
            self.shared.settings.input_timeout
        );
        self.expire_unanswered(
            state.run.clone(),
            pending,
            format!("No itinerary: {reason}"),
        );
        Ok(InputRequiredResult::new(Some(requests), Some(sealed)).into())
    }

    /// 2026-07-28: a retry of `itinerary_agent` with its `requestState`.
    pub(super) async fn itinerary_continue(
        &self,
        responses: Option<&std::collections::BTreeMap<String, Value>>,
        sealed: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let mut state: ItineraryState = self.open(sealed, ToolKind::Itinerary.name())?;
        let asked = state.asked();
        let asked_keys: Vec<&str> = asked.iter().map(|(k, _)| *k).collect();
        let run = self.waiting_run(&state.run, &asked_keys).await?;
        let mut answers = match inputs::gather(&asked, responses)
            .map_err(|m| McpError::invalid_params(m, None))?
        {
            // Ask again for what is missing, under the same (still valid) state.
            Gathered::Missing(missing) => {
                return Ok(InputRequiredResult::new(
                    Some(state.input_requests(&missing)),
                    Some(sealed.to_owned()),
                )
                .into());
            }
            Gathered::Complete(answers) => answers,
        };
        let reporter = self.reporter(&run, Some(ctx));
        reporter.resumed().await;
        let mut take = |key: &str| answers.remove(key).unwrap_or_default();
        if state.dates.is_none() {
            let dates = match script::read_dates(&take(DATES)) {
                Ok(Some(dates)) => dates,
                Ok(None) => return Ok(cancelled(&reporter, &state.destination).await.into()),
                Err(reason) => return Ok(failed(&reporter, &reason).await.into()),
            };
            state.dates = Some(dates);
            state.folder = state
                .roots
                .then(|| script::first_root(&take(FOLDER)))
                .flatten();
            reporter.step(script::ITINERARY_SEAT).await;
            return self.itinerary_round(&reporter, state).await;
        }
        let result = match script::read_seat(&take(SEAT)) {
            Ok(seat) => finished(&reporter, &state, &seat).await,
            Err(reason) => failed(&reporter, &reason).await,
        };
        Ok(result.into())
    }

    /// Legacy sessions: the three questions asked live, one after the other.
    async fn itinerary_live(
        &self,
        reporter: &Reporter,
        destination: &str,
        roots: bool,
        ctx: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let limit = self.shared.settings.input_timeout;
        let ask = |key: &'static str| async move {
            let asked = async {
                match question(key, destination) {
                    InputRequest::Elicitation(request) => ctx
                        .peer
                        .create_elicitation(request.params)
                        .await
                        .map(|r| serde_json::to_value(r).unwrap_or_default()),
                    _ => ctx
                        .peer
                        .list_roots()
                        .await
                        .map(|r| serde_json::to_value(r).unwrap_or_default()),
                }
            };
            super::answer_within(limit, asked).await
        };
        let dates = match ask(DATES).await.and_then(|a| script::read_dates(&a)) {
            Ok(Some(dates)) => dates,
            Ok(None) => return cancelled(reporter, destination).await,
            Err(reason) => return failed(reporter, &reason).await,
        };
        let folder = if roots {
            match ask(FOLDER).await {
                Ok(answer) => script::first_root(&answer),
                Err(reason) => return failed(reporter, &reason).await,
            }
        } else {
            None
        };
        reporter.step(script::ITINERARY_SEAT).await;
        let seat = match ask(SEAT).await.and_then(|a| script::read_seat(&a)) {
            Ok(seat) => seat,
            Err(reason) => return failed(reporter, &reason).await,
        };
        let state = ItineraryState {
            run: String::new(),
            destination: destination.to_owned(),
            roots,
            dates: Some(dates),
            folder,
        };
        finished(reporter, &state, &seat).await
    }
}

async fn finished(reporter: &Reporter, state: &ItineraryState, seat: &str) -> CallToolResult {
    reporter.step(script::ITINERARY_DONE).await;
    let dates = state.dates.clone().unwrap_or(TravelDates {
        start: String::new(),
        nights: script::DEFAULT_NIGHTS,
    });
    let text = script::itinerary_text(&state.destination, &dates, seat, state.folder.as_deref());
    reporter.finish_text(RunStatus::Completed, text).await
}

async fn cancelled(reporter: &Reporter, destination: &str) -> CallToolResult {
    reporter
        .finish_text(
            RunStatus::Cancelled,
            script::itinerary_cancelled_text(destination),
        )
        .await
}

async fn failed(reporter: &Reporter, reason: &str) -> CallToolResult {
    reporter
        .finish_text(RunStatus::Failed, format!("No itinerary: {reason}"))
        .await
}
