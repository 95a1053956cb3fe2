//! `POST /api/v1/pilots/{id}/run`: fire a run. Any JSON body (or none) becomes the
//! trigger payload; a body needs a JSON `Content-Type` (`crate::extract`). `202 {"queued": true, "jobId": N}` once the run and its job are
//! committed; `409` when the pilot is paused.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_domain::{Environment, PilotId, Scope, TriggerType, WorkspaceId};
use pilot_store::CreateRun;
use serde_json::{Value, json};

use super::parse_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::OptionalJson;

pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(payload): OptionalJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let id = parse_id(&id).ok_or_else(super::not_found)?;
    let payload = payload.unwrap_or_else(|| json!({}));
    fire(
        &state,
        who.workspace_id,
        who.environment,
        PilotId(id),
        TriggerType::Manual,
        &payload,
    )
    .await
}

/// A webhook trigger's payload: the JSON body, or `{}` when there is none. Unlike the
/// API's run endpoint, it does not ask for a `Content-Type`: the senders of webhooks
/// are other people's systems.
pub fn payload(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))
}

/// Creates the run with its job, and answers as the seed's run endpoint does.
pub async fn fire(
    state: &AppState,
    workspace_id: WorkspaceId,
    environment: Environment,
    pilot_id: PilotId,
    trigger_type: TriggerType,
    payload: &Value,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = state.clock.now();
    let outcome = state
        .store
        .create_run(
            workspace_id,
            environment,
            pilot_id,
            trigger_type,
            payload,
            now,
        )
        .await?;
    match outcome {
        CreateRun::Created(run) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "queued": true, "jobId": run.id.0 })),
        )),
        CreateRun::PilotNotFound => Err(super::not_found()),
        CreateRun::PilotPaused => Err(ApiError::conflict(
            "pilot_paused",
            "Pilot is paused. Set its status to active to run it.",
        )),
    }
}
