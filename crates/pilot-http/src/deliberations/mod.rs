//! The Deliberations surface (seed 003): submit, poll, fetch the result, follow
//! progress, read the balance. One handler per file, each extracting the request,
//! calling its operation in `pilot_operations::deliberations` and rendering the
//! answer; `limits.rs` renders §6's rate-limit fields.

mod balance;
mod events;
mod get;
mod limits;
mod submit;

use axum::Router;
use axum::routing::get;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/deliberations", axum::routing::post(submit::submit))
        .route("/deliberations/{id}", get(get::get))
        .route("/deliberations/{id}/result", get(get::get))
        .route("/deliberations/{id}/events", get(events::events))
        .route("/balance", get(balance::balance))
}
