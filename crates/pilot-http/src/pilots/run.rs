//! `POST /api/v1/pilots/{id}/run`: fire a run. Any JSON body (or none) becomes the
//! trigger payload; a body needs a JSON `Content-Type` (`crate::extract`). `202
//! {"queued": true, "jobId": N}` once the run and its job are committed; `409` when
//! the pilot is paused.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::AppState;
use crate::auth::Caller;
use crate::input::OptionalJsonInput;
use crate::reply;

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
