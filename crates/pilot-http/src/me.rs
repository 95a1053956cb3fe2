//! `GET /api/v1/me` and `GET /v1/api/me`: which workspace, environment and scopes the
//! presented key resolves to. A Pilot addition to both documents, for checking a key.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::MeView;

use crate::AppState;
use crate::auth::Caller;

pub async fn me(State(state): State<AppState>, Caller(who): Caller) -> Json<MeView> {
    Json(state.ops.me(&who))
}
