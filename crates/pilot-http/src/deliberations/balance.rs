//! `GET /v1/api/balance`: the caller's environment's credit balance.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::BalanceView;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn balance(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<BalanceView>, ApiError> {
    Ok(Json(state.ops.balance(&who).await?))
}
