//! `POST /v1/api/webhooks/endpoints/{id}/enable`: re-enable an endpoint; the
//! deliveries that waited for it go out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::views::EndpointEnabled;

use crate::AppState;
use crate::auth::Caller;
use crate::input::NoBodyInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/webhooks/endpoints/{id}/enable",
    operation_id = "enableEndpoint",
    tag = "Webhooks",
    summary = "Re-enable an endpoint",
    description = "Its failures count from zero again, and its `disabled` deliveries (the ones \
                   that waited) go out now.",
    params(("id" = String, Path, pattern = "^wep_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = super::ENDPOINT_ID)),
    responses(
        (status = 200, description = "Enabled; `released` deliveries were sent on their way.", body = EndpointEnabled),
        (status = 404, description = "`not_found`: no such endpoint in this workspace and \
                                      environment."),
    )
)]
pub async fn enable_endpoint(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: NoBodyInput,
) -> Response {
    let answer = state.ops.enable_endpoint(&who, &id, body.idempotency).await;
    reply::replayable(StatusCode::OK, answer)
}
