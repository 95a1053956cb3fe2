//! `GET /v1/api/webhooks/deliveries`: the key's environment's deliveries, newest
//! first, filtered and paged.

use axum::Json;
use axum::extract::{Query, State};
use pilot_operations::views::DeliveryPage;
use pilot_operations::webhooks::DeliveriesQuery;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/webhooks/deliveries",
    operation_id = "listDeliveries",
    tag = "Webhooks",
    summary = "Deliveries of events to your webhook URLs, newest first",
    description = "Each with its event, endpoint, state, attempt count and next attempt. \
                   `next_before` pages back.",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveryPage),
        (status = 422, description = "`validation_error`: a filter that does not parse, each \
                                      named."),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Caller(who): Caller,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    Ok(Json(state.ops.list_deliveries(&who, &query).await?))
}
