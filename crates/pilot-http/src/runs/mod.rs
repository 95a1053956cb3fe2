//! `GET /api/v1/runs/{id}` and `POST /api/v1/runs/{id}/retry`.

mod get;
mod retry;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The routes with their OpenAPI operations (`#[utoipa::path]` on each handler).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get::get))
        .routes(routes!(retry::retry))
}
