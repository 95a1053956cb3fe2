//! `DELETE /api/v1/pilots/{id}`: the pilot, its runs and their results. `204`.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    delete,
    path = "/pilots/{id}",
    operation_id = "deletePilot",
    tag = "Pilots",
    summary = "Delete a pilot, its runs and their results",
    params(("id" = i64, Path, minimum = 1, description = "The pilot's id: a plain decimal number, as the API returns it.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such pilot in this workspace and environment."),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.ops.delete_pilot(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
