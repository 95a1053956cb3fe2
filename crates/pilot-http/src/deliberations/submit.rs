//! `POST /v1/api/deliberations` (§3): validate, screen, reserve credits, queue.
//! `202` with the id, the result URL and the reservation.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pilot_domain::deliberation::SubmissionBody;
use pilot_domain::{DeliberationId, Principal, Scope, Submission};
use pilot_store::{CreateDeliberation, NewDeliberation};
use serde_json::json;

use super::limits::{self, Kind};
use super::{guardrails, views};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract;

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
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = caller.require(Scope::DeliberationsWrite)?.clone();
    let verdict = limits::count(&state, &who, Kind::Post).await?;
    let response = if verdict.allowed {
        accept(&state, &who, &headers, &body)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    } else {
        StatusCode::TOO_MANY_REQUESTS.into_response()
    };
    Ok(limits::respond(&verdict, 3600, response))
}

async fn accept(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    // Checked and parsed here rather than by the extractor, so rejections carry the
    // rate-limit headers too; the rules (415 type, 400 syntax, 422 schema) are the
    // extractor's own.
    extract::require_json(headers)?;
    let parsed: SubmissionBody = extract::parse(body)?;
    let submission = Submission::parse(&parsed).map_err(ApiError::validation)?;
    if let Some(url) = &submission.webhook_url {
        state
            .deliberations
            .webhook_guard
            .check_url(url)
            .await
            .map_err(|e| ApiError::validation(format!("webhook_url is not allowed: {e}")))?;
    }
    guardrails::check(state, who, &submission.question).await?;

    let estimate = state
        .deliberations
        .config
        .estimates
        .estimate(submission.mode, submission.difficulty);
    let id = DeliberationId::from_ulid_text(&ulid::Ulid::new().to_string());
    let new = NewDeliberation {
        id: id.clone(),
        key_id: Some(who.key_id),
        mode: submission.mode,
        use_case: submission.use_case,
        difficulty: submission.difficulty,
        question: submission.question,
        webhook_url: submission.webhook_url,
        metadata: submission.metadata,
        estimate,
    };
    let created = state
        .store
        .create_deliberation(who.workspace_id, who.environment, &new, state.clock.now())
        .await?;
    match created {
        CreateDeliberation::Created(record) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "deliberation_id": record.id.as_str(),
                "status": "queued",
                "result_url": views::result_url(&state.public_url, record.id.as_str()),
                "estimated_credits": estimate,
            })),
        )
            .into_response()),
        CreateDeliberation::InsufficientCredits { balance } => Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_credits",
            format!(
                "Workspace balance {:.2} < estimated {:.2}",
                balance.as_f64(),
                estimate.as_f64()
            ),
        )),
    }
}
