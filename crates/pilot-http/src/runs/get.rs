//! `GET /api/v1/runs/{id}`: one run with its per-step results.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::views::RunView;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/runs/{id}",
    operation_id = "getRun",
    tag = "Runs",
    summary = "Read one run with its per-step results",
    params(("id" = i64, Path, minimum = 1, description = "The run's id: a plain decimal number, as the API returns it.")),
    responses(
        (status = 200, description = "The run.", body = RunView),
        (status = 404, description = "No such run in this workspace and environment."),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.ops.get_run(&who, &id).await?))
}
