//! `GET /api/v1/pilots/{id}`: one pilot with its steps and trigger settings.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::views::PilotDetail;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/pilots/{id}",
    operation_id = "getPilot",
    tag = "Pilots",
    summary = "Read a pilot with its steps and trigger settings",
    params(("id" = i64, Path, minimum = 1, description = "The pilot's id: a plain decimal number, as the API returns it.")),
    responses(
        (status = 200, description = "The pilot.", body = PilotDetail),
        (status = 404, description = "No such pilot in this workspace and environment."),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<PilotDetail>, ApiError> {
    Ok(Json(state.ops.get_pilot(&who, &id).await?))
}
