//! `GET /v1/api/webhooks/endpoints`: the key's environment's endpoints.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::EndpointList;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/webhooks/endpoints",
    operation_id = "listEndpoints",
    tag = "Webhooks",
    summary = "Your webhook endpoints, oldest first",
    description = "One per URL deliveries went to, with its state (disabled after 20 \
                   consecutive failures or a `410 Gone`), consecutive failures, last success \
                   and last failure.",
    responses((status = 200, description = "The endpoints.", body = EndpointList))
)]
pub async fn list_endpoints(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<EndpointList>, ApiError> {
    Ok(Json(state.ops.list_endpoints(&who).await?))
}
