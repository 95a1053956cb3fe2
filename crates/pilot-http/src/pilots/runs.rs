//! `GET /api/v1/pilots/{id}/runs`: the most recent runs (10 by default), each with
//! per-step results; `?before=<run id>` pages back, `?limit=` up to 100 (both plain
//! decimal numbers, `crate::decimal`; anything else is `422`).

use axum::Json;
use axum::extract::{Path, Query, State};
use pilot_domain::{PilotId, RunId, Scope};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{find_pilot, views};
use crate::AppState;
use crate::auth::Caller;
use crate::decimal;
use crate::error::ApiError;

const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct Page {
    before: Option<String>,
    limit: Option<String>,
}

pub async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::PilotsRead)?;
    let pilot = find_pilot(&state, who, &id).await?;
    let before = match page.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(RunId(decimal::parse_id(raw).ok_or_else(|| {
            ApiError::validation("before must be a run id (a plain decimal number)")
        })?)),
    };
    let limit = match page.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(raw) => decimal::parse::<u32>(raw)
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "limit must be a plain decimal number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let runs = state
        .store
        .list_runs(
            who.workspace_id,
            who.environment,
            PilotId(pilot.id.0),
            before,
            limit,
        )
        .await?;
    let next_before = (runs.len() as u32 == limit)
        .then(|| runs.last().map(|r| r.run.id.0))
        .flatten();
    let runs: Vec<Value> = runs.iter().map(views::run).collect();
    Ok(Json(json!({ "runs": runs, "nextBefore": next_before })))
}
