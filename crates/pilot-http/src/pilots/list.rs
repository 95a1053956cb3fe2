//! `GET /api/v1/pilots`: the caller's pilots, newest first.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::PilotList;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/pilots",
    operation_id = "listPilots",
    tag = "Pilots",
    summary = "List your pilots, newest first",
    responses((status = 200, description = "The caller's pilots.", body = PilotList))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<PilotList>, ApiError> {
    Ok(Json(state.ops.list_pilots(&who).await?))
}
