//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use pilot_operations::views::{HealthView, ReadinessView};

use crate::AppState;
use crate::error::ApiError;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "Operations",
    summary = "Liveness: the process is up",
    responses((status = 200, description = "Up.", body = HealthView))
)]
pub async fn healthz() -> Json<HealthView> {
    Json(HealthView::ok())
}

/// The process can reach its store (`503` when it cannot).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "Operations",
    summary = "Readiness: the store answers",
    responses(
        (status = 200, description = "Ready.", body = ReadinessView),
        (status = 503, description = "The store is unreachable."),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<ReadinessView>, ApiError> {
    Ok(Json(state.ops.readiness().await?))
}
