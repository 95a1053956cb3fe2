//! `POST /v1/api/webhooks/deliveries/{id}/replay`: one manual attempt now. `202`
//! with the delivery as it stands.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use pilot_operations::views::DeliveryView;

use crate::AppState;
use crate::auth::Caller;
use crate::input::NoBodyInput;
use crate::reply;

#[utoipa::path(
    post,
    path = "/webhooks/deliveries/{id}/replay",
    operation_id = "replayDelivery",
    tag = "Webhooks",
    summary = "Send a delivery once more, now",
    description = "One manual attempt, whatever the delivery's state; it does not restart the \
                   retry schedule. The attempt shows in the delivery's detail once made.",
    params(("id" = String, Path, pattern = "^dlv_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = super::DELIVERY_ID)),
    responses(
        (status = 202, description = "The attempt is queued.", body = DeliveryView),
        (status = 404, description = "`not_found`: no such delivery in this workspace and \
                                      environment."),
    )
)]
pub async fn replay_delivery(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: NoBodyInput,
) -> Response {
    let answer = state.ops.replay_delivery(&who, &id, body.idempotency).await;
    reply::replayable(StatusCode::ACCEPTED, answer)
}
