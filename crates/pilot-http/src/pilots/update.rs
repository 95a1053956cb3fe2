//! `PATCH /api/v1/pilots/{id}`: change title, description, steps, status or trigger.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::pilots::UpdatePilot;
use pilot_operations::views::PilotDetail;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::JsonInput;

pub async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: JsonInput<UpdatePilot>,
) -> Result<Json<PilotDetail>, ApiError> {
    Ok(Json(state.ops.update_pilot(&who, &id, body.input).await?))
}
