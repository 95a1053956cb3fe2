//! `DELETE /api/v1/pilots/{id}`: the pilot, its runs and their results. `204`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_domain::Scope;

use super::parse_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let id = parse_id(&id).ok_or_else(super::not_found)?;
    let deleted = state
        .store
        .delete_pilot(who.workspace_id, who.environment, pilot_domain::PilotId(id))
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(super::not_found())
    }
}
