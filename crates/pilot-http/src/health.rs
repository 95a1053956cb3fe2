//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::{HealthView, ReadinessView};

use crate::AppState;
use crate::error::ApiError;

/// The process is up.
pub async fn healthz() -> Json<HealthView> {
    Json(HealthView::ok())
}

/// The process can reach its store (`503` when it cannot).
pub async fn readyz(State(state): State<AppState>) -> Result<Json<ReadinessView>, ApiError> {
    Ok(Json(state.ops.readiness().await?))
}
