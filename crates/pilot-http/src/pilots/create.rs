//! `POST /api/v1/pilots`: create a pilot, drafting its steps from the description
//! unless the client sends `steps`. `201` with the pilot and its steps.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::pilots::CreatePilot;
use pilot_operations::views::PilotDetail;

use crate::AppState;
use crate::auth::Caller;
use crate::input::JsonInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/pilots",
    operation_id = "createPilot",
    tag = "Pilots",
    summary = "Create a pilot",
    description = "A title and a plain-English description the AI drafts the steps from, or \
                   the steps themselves. 60 creations a minute per workspace.",
    request_body = CreatePilot,
    responses(
        (status = 201, description = "Created, with its steps.", body = PilotDetail),
        (status = 400, description = "The body is not valid JSON."),
        (status = 403, description = "The key lacks `pilots:write`, or the steps hold a \
                                      `deliberate` step and it lacks `deliberations:write`."),
        (status = 415, description = "The body is not sent as JSON."),
        (status = 422, description = "The body does not fit: every problem is named (a \
                                      `notifyUrl` that is not https, or whose host is a \
                                      private or special address, included)."),
        (status = 429, description = "Over 60 creations a minute in this workspace."),
        (status = 503, description = "Drafting needs a model, and none is configured for \
                                      the key's environment (or it is unavailable)."),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: JsonInput<CreatePilot>,
) -> Response {
    let answer = state
        .ops
        .create_pilot(&who, body.input, body.idempotency)
        .await;
    reply::replayable(StatusCode::CREATED, answer)
}
