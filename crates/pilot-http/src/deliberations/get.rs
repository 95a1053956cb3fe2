//! `GET /v1/api/deliberations/{id}` and `…/result` (§4): `202` with the status-only
//! shape while queued or running, `200` with the full payload when terminal (the
//! document gives both paths one shape); `?include=panel` adds the panel. Every
//! answer the read limit counted carries its fields.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pilot_operations::deliberations::DeliberationQuery;

use super::limits;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Serves both `…/{id}` and `…/{id}/result`: the document gives them one shape.
#[utoipa::path(
    get,
    path = "/deliberations/{id}",
    operation_id = "getDeliberation",
    tag = "Deliberations",
    summary = "Poll a deliberation",
    description = "Status only (`202`) while `queued` or `running`; the full payload (`200`) once \
                   `completed` or `failed`. 600 per minute per key.",
    params(
        ("id" = String, Path, pattern = "^del_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = "`del_` and 26 upper-case Crockford base32 characters, as the API returns it."),
        ("include" = Option<String>, Query, pattern = "^(panel)?(,(panel)?)*$",
         description = "`panel` adds every persona answer, review, revision and the arbiter's work."),
    ),
    responses(
        (status = 200, description = "Completed or failed: the full payload.", body = pilot_operations::views::TerminalView),
        (status = 202, description = "Queued or running: the status-only shape.", body = pilot_operations::views::PendingView),
        (status = 404, description = "`not_found`: no such deliberation in this workspace and environment."),
        (status = 422, description = "`validation_error`: `include` lists something other than `panel`."),
        (status = 429, description = "`rate_limited`: over 600 reads a minute for this key."),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    Query(query): Query<DeliberationQuery>,
) -> Response {
    let answer = state.ops.get_deliberation(&who, &id, &query).await;
    let response = match answer.result {
        Ok(view) if view.is_terminal() => (StatusCode::OK, Json(view)).into_response(),
        Ok(view) => (StatusCode::ACCEPTED, Json(view)).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    limits::stamp(response, answer.rate_limit.as_ref())
}
