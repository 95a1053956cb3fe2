//! `GET /api/v1/pilots/{id}/runs`: the most recent runs (10 by default), each with
//! per-step results; `?before=<run id>` pages back, `?limit=` up to 100.

use axum::Json;
use axum::extract::{Path, Query, State};
use pilot_operations::pilots::RunsQuery;
use pilot_operations::views::RunPage;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/pilots/{id}/runs",
    operation_id = "listRuns",
    tag = "Runs",
    summary = "A pilot's most recent runs, each with per-step results",
    params(("id" = i64, Path, minimum = 1, description = "The pilot's id: a plain decimal number, as the API returns it."), RunsQuery),
    responses(
        (status = 200, description = "Newest first; `nextBefore` pages back.", body = RunPage),
        (status = 404, description = "No such pilot in this workspace and environment."),
        (status = 422, description = "`before` or `limit` is not a plain decimal number in range."),
    )
)]
pub async fn runs(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(page): Query<RunsQuery>,
) -> Result<Json<RunPage>, ApiError> {
    Ok(Json(state.ops.list_runs(&who, &id, &page).await?))
}
