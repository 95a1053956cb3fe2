//! `POST /api/v1/runs/{id}/retry`: run a finished run again — from the start (no
//! body, or `{"from": "start"}`) or from its failed step (`{"from":
//! "failed_step"}`). `202` like a run.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::runs::RetryRequest;

use crate::AppState;
use crate::auth::Caller;
use crate::input::OptionalJsonInput;
use crate::reply;

pub async fn retry(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: OptionalJsonInput<RetryRequest>,
) -> Response {
    let answer = state
        .ops
        .retry_run(&who, &id, body.input, body.idempotency)
        .await;
    reply::replayable(StatusCode::ACCEPTED, answer)
}
