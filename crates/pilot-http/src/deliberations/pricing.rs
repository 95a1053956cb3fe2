//! `GET /v1/api/pricing`: the estimate table and the model prices in force.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::PricingView;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/pricing",
    operation_id = "getPricing",
    tag = "Deliberations",
    summary = "What deliberations cost here: the estimates submits reserve and the model prices",
    responses((status = 200, description = "The pricing for the key's environment.", body = pilot_operations::views::PricingView))
)]
pub async fn pricing(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<PricingView>, ApiError> {
    Ok(Json(state.ops.pricing(&who)?))
}
