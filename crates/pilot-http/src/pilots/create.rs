//! `POST /api/v1/pilots`: create a pilot, drafting its steps from the description
//! unless the client sends `steps`. `201` with the pilot and its steps. Steps holding
//! a `deliberate` step, sent or drafted, also need `deliberations:write`
//! ([`steps_scope`]); the creating key is recorded as the one that set the steps.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pilot_domain::Scope;
use pilot_engine::drafting::{DraftError, DraftRequest};
use pilot_store::NewPilot;
use serde_json::Value;

use super::body::{self, CreatePilot};
use super::steps_scope;
use super::views;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json as JsonBody;
use crate::rate_limit;

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreatePilot>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let title = body::title(&request.title)?;
    let description = body::description(&request.description)?;
    let trigger_type = body::trigger_type(request.trigger_type.as_deref())?;
    let status = body::status(request.status.as_deref())?;
    let now = state.clock.now();
    let trigger = body::trigger(
        trigger_type,
        request.schedule.as_ref(),
        &state.master_key,
        now,
        state.pilots.min_schedule_interval,
    )?;
    let given_steps = request.steps.as_ref().map(body::steps).transpose()?;
    if let Some(steps) = &given_steps {
        steps_scope::require(who, steps)?;
    }

    rate_limit::enforce(
        &state,
        &format!("pilots:create:{}", who.workspace_id),
        state.pilots.create_limit,
    )
    .await?;

    let steps = match given_steps {
        Some(steps) => steps,
        None => {
            if description.is_empty() {
                return Err(ApiError::validation(
                    "Send a description for the AI to draft steps from, or the steps themselves.",
                ));
            }
            let draft = DraftRequest {
                workspace_id: who.workspace_id,
                environment: who.environment,
                title: &title,
                description: &description,
                trigger_type,
            };
            let drafted = state
                .pilots
                .drafter
                .draft(&draft)
                .await
                .map_err(draft_error)?;
            steps_scope::require(who, &drafted)?;
            drafted
        }
    };
    let pilot = NewPilot {
        title,
        description,
        status,
        trigger,
        steps: steps.to_value(),
        steps_key_id: Some(who.key_id),
    };
    let created = state
        .store
        .create_pilot(who.workspace_id, who.environment, &pilot, now)
        .await?;
    let view = views::detail(
        &created,
        &state.master_key,
        &state.public_url,
        &state.pilots.mail_domain,
    );
    Ok((StatusCode::CREATED, Json(view)))
}

fn draft_error(error: DraftError) -> ApiError {
    use pilot_models::ModelError;
    match error {
        DraftError::Invalid(errors) => ApiError::validation(format!(
            "Could not draft valid steps from the description: {errors}. \
             Rephrase the description or send steps yourself."
        )),
        DraftError::Model(ModelError::NotConfigured(message)) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "model_unavailable",
            format!("Drafting needs a model: {message}"),
        ),
        DraftError::Model(ModelError::ContentFiltered(message)) => ApiError::validation(format!(
            "The model refused to draft this description: {message}"
        )),
        DraftError::Model(other) => {
            tracing::warn!(error = %other, "drafting failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "model_unavailable",
                format!("The drafting model is unavailable: {other}"),
            )
        }
    }
}
