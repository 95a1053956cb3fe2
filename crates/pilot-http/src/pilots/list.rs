//! `GET /api/v1/pilots`: the caller's pilots, newest first.

use axum::Json;
use axum::extract::State;
use pilot_domain::Scope;
use serde_json::{Value, json};

use super::views;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::PilotsRead)?;
    let pilots = state
        .store
        .list_pilots(who.workspace_id, who.environment)
        .await?;
    let pilots: Vec<Value> = pilots.iter().map(views::summary).collect();
    Ok(Json(json!({ "pilots": pilots })))
}
