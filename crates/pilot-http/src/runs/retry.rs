//! `POST /api/v1/runs/{id}/retry`: run a finished run again — from the start with the
//! same payload (no body, or `{"from": "start"}`), or `{"from": "failed_step"}` to
//! resume at the step that failed with the earlier steps' outputs. `202` like a run.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_domain::{RunId, Scope};
use pilot_store::{RetryFrom, RetryRun};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::OptionalJson;
use crate::pilots::parse_id;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    from: Option<String>,
}

pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<RetryBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let id = parse_id(&id).ok_or_else(super::not_found)?;
    let request = request.unwrap_or_default();
    let from = match request.from.as_deref() {
        None | Some("start") => RetryFrom::Start,
        Some("failed_step") => RetryFrom::FailedStep,
        Some(_) => {
            return Err(ApiError::validation(
                "from must be \"start\" or \"failed_step\"",
            ));
        }
    };
    let now = state.clock.now();
    let outcome = state
        .store
        .retry_run(who.workspace_id, who.environment, RunId(id), from, now)
        .await?;
    match outcome {
        RetryRun::Created(run) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "queued": true, "jobId": run.id.0, "retryOf": id })),
        )),
        RetryRun::RunNotFound => Err(super::not_found()),
        RetryRun::NoFailedStep => Err(ApiError::conflict(
            "no_failed_step",
            "This run has no failed step to resume from; retry it from the start.",
        )),
        RetryRun::NotFinished => Err(ApiError::conflict(
            "run_not_finished",
            "This run has not finished yet.",
        )),
    }
}
