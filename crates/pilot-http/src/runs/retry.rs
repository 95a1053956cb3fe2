//! `POST /api/v1/runs/{id}/retry`: run a finished run again — from the start (no
//! body, or `{"from": "start"}`) or from its failed step (`{"from":
//! "failed_step"}`). `202` like a run.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::runs::RetryRequest;
use pilot_operations::views::RetryQueued;

use crate::AppState;
use crate::auth::Caller;
use crate::input::OptionalJsonInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/runs/{id}/retry",
    operation_id = "retryRun",
    tag = "Runs",
    summary = "Run a finished run again",
    description = "From the start (no body, or `{\"from\": \"start\"}`), or from its failed \
                   step with the earlier outputs (`{\"from\": \"failed_step\"}`). A retry is a \
                   new run.",
    params(("id" = i64, Path, minimum = 1, description = "The run's id: a plain decimal number, as the API returns it.")),
    request_body(content = Option<RetryRequest>),
    responses(
        (status = 202, description = "Queued.", body = RetryQueued),
        (status = 400, description = "The body is not valid JSON."),
        (status = 404, description = "No such run in this workspace and environment."),
        (status = 409, description = "The run has not finished, or has no failed step to \
                                      resume from."),
        (status = 415, description = "A body not sent as JSON."),
        (status = 422, description = "The body does not fit."),
    )
)]
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
