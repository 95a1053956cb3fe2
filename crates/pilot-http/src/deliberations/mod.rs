//! The Deliberations surface (seed 003): submit, poll, fetch the result, follow
//! progress, read the balance. One handler per file.

mod balance;
mod events;
mod get;
mod guardrails;
mod limits;
mod submit;
mod views;

use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

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
}

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("No deliberation with that id in this workspace.")
}
