//! `PATCH /api/v1/pilots/{id}`: change title, description, steps, status or trigger.
//! Every field is validated as on create; an absent field is left as it is. New
//! steps holding a `deliberate` step also need `deliberations:write`
//! ([`steps_scope`]), and the patching key becomes the one that set the steps.

use axum::Json;
use axum::extract::{Path, State};
use pilot_domain::{PilotId, Scope};
use pilot_store::PilotPatch;
use serde_json::Value;

use super::body::{self, UpdatePilot};
use super::steps_scope;
use super::{find_pilot, views};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json as JsonBody;

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UpdatePilot>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let current = find_pilot(&state, who, &id).await?;
    let now = state.clock.now();
    let steps = request.steps.as_ref().map(body::steps).transpose()?;
    if let Some(steps) = &steps {
        steps_scope::require(who, steps)?;
    }
    let mut patch = PilotPatch {
        title: request.title.as_deref().map(body::title).transpose()?,
        description: request
            .description
            .as_deref()
            .map(body::description)
            .transpose()?,
        status: request
            .status
            .as_deref()
            .map(|s| body::status(Some(s)))
            .transpose()?,
        steps_key_id: steps.as_ref().map(|_| who.key_id),
        steps: steps.map(|s| s.to_value()),
        trigger: None,
    };
    // A new trigger type or schedule replaces the trigger; the same type without new
    // settings keeps its token or address.
    let wants_type = request
        .trigger_type
        .as_deref()
        .map(|t| body::trigger_type(Some(t)))
        .transpose()?;
    if wants_type.is_some_and(|t| t != current.trigger_type) || request.schedule.is_some() {
        let trigger_type = wants_type.unwrap_or(current.trigger_type);
        patch.trigger = Some(body::trigger(
            trigger_type,
            request.schedule.as_ref(),
            &state.master_key,
            now,
            state.pilots.min_schedule_interval,
        )?);
    }
    let updated = state
        .store
        .update_pilot(
            who.workspace_id,
            who.environment,
            PilotId(current.id.0),
            &patch,
            now,
        )
        .await?
        .ok_or_else(super::not_found)?;
    Ok(Json(views::detail(
        &updated,
        &state.master_key,
        &state.public_url,
        &state.pilots.mail_domain,
    )))
}
