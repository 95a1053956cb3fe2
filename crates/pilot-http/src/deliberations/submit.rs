//! `POST /v1/api/deliberations` (§3): `202` with the id, the result URL and the
//! reservation. The operation checks, in order, the scope, the idempotency key, the
//! key's rate limit, the body (`415` type, `400` syntax, `422` schema and rules),
//! `webhook_url`, the guardrails and the balance; every answer it counted carries
//! the rate-limit fields.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use pilot_domain::deliberation::SubmissionBody;

use super::limits;
use crate::AppState;
use crate::auth::Caller;
use crate::input::ReadJsonInput;
use crate::reply;

pub async fn submit(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: ReadJsonInput<SubmissionBody>,
) -> Response {
    let answer = state
        .ops
        .submit_deliberation(&who, body.input, body.idempotency)
        .await;
    let counted = answer.rate_limit;
    limits::stamp(
        reply::replayable(StatusCode::ACCEPTED, answer),
        counted.as_ref(),
    )
}
