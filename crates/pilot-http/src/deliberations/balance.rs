//! `GET /v1/api/balance`: the caller's environment's credit balance.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::BalanceView;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[utoipa::path(
    get,
    path = "/balance",
    operation_id = "getBalance",
    tag = "Deliberations",
    summary = "The key's environment's credit balance",
    responses((status = 200, description = "The balance.", body = pilot_operations::views::BalanceView))
)]
pub async fn balance(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<BalanceView>, ApiError> {
    Ok(Json(state.ops.balance(&who).await?))
}
