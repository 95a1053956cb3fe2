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
