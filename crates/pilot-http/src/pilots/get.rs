//! `GET /api/v1/pilots/{id}`: one pilot with its steps and trigger settings.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::views::PilotDetail;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<PilotDetail>, ApiError> {
    Ok(Json(state.ops.get_pilot(&who, &id).await?))
}
