//! `GET /api/v1/me` and `GET /v1/api/me`: which workspace, environment and scopes the
//! presented key resolves to. A Pilot addition to both documents, for checking a key.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::MeView;

use crate::AppState;
use crate::auth::Caller;

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "pilotsMe",
    tag = "Account",
    summary = "Which workspace, environment and scopes this key resolves to",
    responses((status = 200, description = "The key's tenant and scopes.", body = MeView))
)]
pub async fn pilots_me(state: State<AppState>, caller: Caller) -> Json<MeView> {
    me(state, caller)
}

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "deliberationsMe",
    tag = "Account",
    summary = "Which workspace, environment and scopes this key resolves to",
    responses((status = 200, description = "The key's tenant and scopes.", body = MeView))
)]
pub async fn deliberations_me(state: State<AppState>, caller: Caller) -> Json<MeView> {
    me(state, caller)
}

/// One answer on both surfaces; two operations in the document, each with its
/// surface's errors.
fn me(State(state): State<AppState>, Caller(who): Caller) -> Json<MeView> {
    Json(state.ops.me(&who))
}
