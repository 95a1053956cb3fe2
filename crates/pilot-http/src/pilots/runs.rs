//! `GET /api/v1/pilots/{id}/runs`: the most recent runs (10 by default), each with
//! per-step results; `?before=<run id>` pages back, `?limit=` up to 100.

use axum::Json;
use axum::extract::{Path, Query, State};
use pilot_operations::pilots::RunsQuery;
use pilot_operations::views::RunPage;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn runs(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(page): Query<RunsQuery>,
) -> Result<Json<RunPage>, ApiError> {
    Ok(Json(state.ops.list_runs(&who, &id, &page).await?))
}
