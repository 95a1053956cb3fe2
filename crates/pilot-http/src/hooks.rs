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
