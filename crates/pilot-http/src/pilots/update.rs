//! `PATCH /api/v1/pilots/{id}`: change title, description, steps, status, trigger or
//! notify URL.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::pilots::UpdatePilot;
use pilot_operations::views::PilotDetail;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::JsonInput;

#[utoipa::path(
    patch,
    path = "/pilots/{id}",
    operation_id = "updatePilot",
    tag = "Pilots",
    summary = "Change a pilot",
    description = "Any of the create fields, validated as on create; an absent one is left \
                   as it is. Changing `triggerType` issues a new webhook URL or address; \
                   `notifyUrl: null` stops run events.",
    params(("id" = i64, Path, minimum = 1, description = "The pilot's id: a plain decimal number, as the API returns it.")),
    request_body = UpdatePilot,
    responses(
        (status = 200, description = "The changed pilot.", body = PilotDetail),
        (status = 400, description = "The body is not valid JSON."),
        (status = 403, description = "The key lacks `pilots:write`, or new steps hold a \
                                      `deliberate` step and it lacks `deliberations:write`."),
        (status = 404, description = "No such pilot in this workspace and environment."),
        (status = 415, description = "The body is not sent as JSON."),
        (status = 422, description = "The body does not fit: every problem is named (a \
                                      `notifyUrl` that is not https, or whose host is a \
                                      private or special address, included)."),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: JsonInput<UpdatePilot>,
) -> Result<Json<PilotDetail>, ApiError> {
    Ok(Json(state.ops.update_pilot(&who, &id, body.input).await?))
}
