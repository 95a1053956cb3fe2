//! `POST /v1/api/webhooks/endpoints/{id}/recover` `{"since": …}`: replay every dead
//! or failed delivery of the endpoint since then. `202` with how many.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::views::RecoveryQueued;
use pilot_operations::webhooks::RecoverRequest;

use crate::AppState;
use crate::auth::Caller;
use crate::input::JsonInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/webhooks/endpoints/{id}/recover",
    operation_id = "recoverEndpoint",
    tag = "Webhooks",
    summary = "Replay an endpoint's dead and failed deliveries since an instant",
    description = "One manual attempt for each `dead` or `failed` delivery to the endpoint \
                   created at or after `since`, at most 14 days back.",
    params(("id" = String, Path, pattern = "^wep_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = super::ENDPOINT_ID)),
    request_body = RecoverRequest,
    responses(
        (status = 202, description = "The attempts are queued.", body = RecoveryQueued),
        (status = 400, description = "`invalid_request`: the body is not valid JSON."),
        (status = 404, description = "`not_found`: no such endpoint in this workspace and \
                                      environment."),
        (status = 415, description = "`unsupported_media_type`: a body not sent as JSON."),
        (status = 422, description = "`validation_error`: `since` is missing, not an RFC 3339 \
                                      instant, in the future or more than 14 days back."),
    )
)]
pub async fn recover_endpoint(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: JsonInput<RecoverRequest>,
) -> Response {
    let answer = state
        .ops
        .recover_endpoint(&who, &id, body.input, body.idempotency)
        .await;
    reply::replayable(StatusCode::ACCEPTED, answer)
}
