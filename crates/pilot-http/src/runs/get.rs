//! `GET /api/v1/runs/{id}`: one run with its per-step results.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::views::RunView;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.ops.get_run(&who, &id).await?))
}
