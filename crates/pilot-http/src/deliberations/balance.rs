//! `GET /v1/api/balance`: the caller's environment's credit balance.

use axum::Json;
use axum::extract::State;
use pilot_domain::Scope;
use serde_json::{Value, json};

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
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::DeliberationsRead)?;
    let balance = state
        .store
        .balance(who.workspace_id, who.environment)
        .await?;
    Ok(Json(json!({
        "balance": balance,
        "environment": who.environment.as_str(),
    })))
}
