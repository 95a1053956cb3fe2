//! `DELETE /api/v1/pilots/{id}`: the pilot, its runs and their results. `204`.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.ops.delete_pilot(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
