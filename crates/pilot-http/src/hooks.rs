//! `POST /hooks/pilots/{token}`: a pilot's webhook trigger. The secret token in the
//! URL is the credential (no API key); the body, any JSON or none, becomes the
//! trigger payload. Unlike the API's run endpoint it does not ask for a
//! `Content-Type`: the senders of webhooks are other people's systems. Answers like
//! the run endpoint, in the Pilots surface's error shape; an unknown token is `404`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_operations::OpError;
use pilot_operations::views::RunQueued;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

#[utoipa::path(
    post,
    path = "/pilots/{token}",
    operation_id = "fireWebhook",
    tag = "Triggers",
    summary = "A webhook pilot's trigger URL",
    description = "The pilot's `webhookUrl`. No API key: the secret token in the URL is the \
                   credential. Any JSON body (or none), whatever its `Content-Type`, becomes \
                   the run's trigger payload.",
    params(("token" = String, Path, max_length = 128, description = "The secret token from the pilot's `webhookUrl`.")),
    request_body(content = Option<Value>, description = "The trigger payload; none is `{}`."),
    responses(
        (status = 202, description = "Queued.", body = RunQueued),
        (status = 400, description = "The body is not valid JSON."),
        (status = 404, description = "Unknown token, or the pilot's trigger is not `webhook`."),
        (status = 409, description = "The pilot is paused."),
    )
)]
pub async fn webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<RunQueued>), ApiError> {
    let queued = state.ops.fire_webhook(&token, payload(&body)).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

/// The JSON body, or `{}` when there is none.
fn payload(body: &[u8]) -> Result<Value, OpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| OpError::bad_request(format!("Request body is not valid JSON: {e}")))
}
