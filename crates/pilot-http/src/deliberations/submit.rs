//! `POST /v1/api/deliberations` (§3): `202` with the id, the result URL and the
//! reservation. The operation checks, in order, the scope, the idempotency key, the
//! key's rate limit, the body (`415` type, `400` syntax, `422` schema and rules),
//! `webhook_url`, the guardrails and the balance; every answer it counted carries
//! the rate-limit fields.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use pilot_domain::Channel;
use pilot_domain::deliberation::SubmissionBody;

use super::limits;
use crate::AppState;
use crate::auth::Caller;
use crate::input::ReadJsonInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/deliberations",
    operation_id = "submitDeliberation",
    tag = "Deliberations",
    summary = "Submit a question for deliberation",
    description = "Validates, screens (guardrails), reserves the estimated credits and queues \
                   it. 60 per hour per key.",
    request_body = pilot_domain::deliberation::SubmissionBody,
    responses(
        (status = 202, description = "Accepted and queued.", body = pilot_operations::views::DeliberationAccepted),
        (status = 400, description = "`invalid_request`: the body is not valid JSON."),
        (status = 402, description = "`insufficient_credits`: the balance is below the estimate."),
        (status = 403, description = "`content_blocked`: the guardrails rejected the question \
                                      (no charge); or `insufficient_scope`."),
        (status = 415, description = "`unsupported_media_type`: the body is not sent as JSON."),
        (status = 422, description = "`validation_error`: schema, length or enum violation; \
                                      see `error.message`."),
        (status = 429, description = "`rate_limited`: over 60 submissions an hour for this key."),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: ReadJsonInput<SubmissionBody>,
) -> Response {
    let answer = state
        .ops
        .submit_deliberation(&who, body.input, body.idempotency, Channel::Api)
        .await;
    let counted = answer.rate_limit;
    limits::stamp(
        reply::replayable(StatusCode::ACCEPTED, answer),
        counted.as_ref(),
    )
}
