//! `GET /api/v1/runs/{id}`: one run with its per-step results.

use axum::Json;
use axum::extract::{Path, State};
use pilot_domain::{RunId, Scope};
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pilots::{parse_id, views};

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::PilotsRead)?;
    let id = parse_id(&id).ok_or_else(super::not_found)?;
    let detail = state
        .store
        .get_run(who.workspace_id, who.environment, RunId(id))
        .await?
        .ok_or_else(super::not_found)?;
    Ok(Json(views::run(&detail)))
}
