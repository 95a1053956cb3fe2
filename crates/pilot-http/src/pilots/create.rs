//! `POST /api/v1/pilots`: create a pilot, drafting its steps from the description
//! unless the client sends `steps`. `201` with the pilot and its steps.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::pilots::CreatePilot;

use crate::AppState;
use crate::auth::Caller;
use crate::input::JsonInput;
use crate::reply;

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
