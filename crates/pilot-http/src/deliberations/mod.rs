//! The Deliberations surface (seed 003): submit, poll, fetch the result, follow
//! progress, read the balance and the pricing. One handler per file, each extracting
//! the request, calling its operation in `pilot_operations::deliberations` and
//! rendering the answer; `limits.rs` renders §6's rate-limit fields.

mod balance;
mod events;
mod get;
mod limits;
mod pricing;
mod submit;

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The routes with their OpenAPI operations (`#[utoipa::path]` on each handler).
/// `…/result` is the same handler as `…/{id}`; the document describes it as a copy
/// of that operation (`crate::openapi`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit::submit))
        .routes(routes!(get::get))
        .route("/deliberations/{id}/result", get(get::get))
        .routes(routes!(events::events))
        .routes(routes!(balance::balance))
        .routes(routes!(pricing::pricing))
}
