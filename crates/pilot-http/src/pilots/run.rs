//! `POST /api/v1/pilots/{id}/run`: fire a run. Any JSON body (or none) becomes the
//! trigger payload; a body needs a JSON `Content-Type` (`crate::extract`). `202
//! {"queued": true, "jobId": N}` once the run and its job are committed; `409` when
//! the pilot is paused.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::views::RunQueued;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::input::OptionalJsonInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/pilots/{id}/run",
    operation_id = "runPilot",
    tag = "Pilots",
    summary = "Fire a run",
    description = "The JSON body (any JSON, or none) becomes the run's trigger payload. \
                   Answered once the run and its job are committed.",
    params(("id" = i64, Path, minimum = 1, description = "The pilot's id: a plain decimal number, as the API returns it.")),
    request_body(content = Option<Value>, description = "The trigger payload; none is `{}`."),
    responses(
        (status = 202, description = "Queued.", body = RunQueued),
        (status = 400, description = "The body is not valid JSON."),
        (status = 404, description = "No such pilot in this workspace and environment."),
        (status = 409, description = "The pilot is paused."),
        (status = 415, description = "A body not sent as JSON."),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: OptionalJsonInput<Value>,
) -> Response {
    let answer = state
        .ops
        .run_pilot(&who, &id, body.input, body.idempotency)
        .await;
    reply::replayable(StatusCode::ACCEPTED, answer)
}
