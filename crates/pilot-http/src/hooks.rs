//! `POST /hooks/pilots/{token}`: a pilot's webhook trigger. The secret token in the
//! URL is the credential (no API key), looked up by its SHA-256 digest; the body, any
//! JSON or none, becomes the trigger payload. Answers like the run endpoint, in the
//! Pilots surface's error shape; an unknown token is `404`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_domain::TriggerType;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::pilots::{run, token_digest};

pub async fn webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let unknown = || ApiError::not_found("Unknown webhook.");
    if token.len() > 128 {
        return Err(unknown());
    }
    let pilot = state
        .store
        .find_pilot_by_webhook(&token_digest(&token))
        .await?
        .filter(|p| p.trigger_type == TriggerType::Webhook)
        .ok_or_else(unknown)?;
    let payload = run::payload(&body)?;
    run::fire(
        &state,
        pilot.workspace_id,
        pilot.environment,
        pilot.id,
        TriggerType::Webhook,
        &payload,
    )
    .await
}
