//! The Deliberations surface (seed 003): submit, poll, fetch the result, follow
//! progress, read the balance. One handler per file.

mod balance;
mod events;
mod get;
mod guardrails;
mod limits;
mod submit;
mod views;

use axum::Router;
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/deliberations", axum::routing::post(submit::submit))
        .route("/deliberations/{id}", get(get::get))
        .route("/deliberations/{id}/result", get(get::get))
        .route("/deliberations/{id}/events", get(events::events))
        .route("/balance", get(balance::balance))
}

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("No deliberation with that id in this workspace.")
}
