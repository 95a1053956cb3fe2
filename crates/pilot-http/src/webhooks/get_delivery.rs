//! `GET /v1/api/webhooks/deliveries/{id}`: a delivery with every attempt kept.

use axum::Json;
use axum::extract::{Path, State};
use pilot_operations::views::DeliveryDetailView;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/webhooks/deliveries/{id}",
    operation_id = "getDelivery",
    tag = "Webhooks",
    summary = "A delivery with its attempts",
    description = "Every attempt kept (`webhooks.attempt_retention_days`, 30 by default): when, \
                   the response's status and first 2 KiB, the latency, the error.",
    params(("id" = String, Path, pattern = "^dlv_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = super::DELIVERY_ID)),
    responses(
        (status = 200, description = "The delivery.", body = DeliveryDetailView),
        (status = 404, description = "`not_found`: no such delivery in this workspace and \
                                      environment."),
    )
)]
pub async fn get_delivery(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailView>, ApiError> {
    Ok(Json(state.ops.get_delivery(&who, &id).await?))
}
