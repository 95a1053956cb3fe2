//! `GET /api/v1/runs/{id}` and `POST /api/v1/runs/{id}/retry`.

mod get;
mod retry;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/runs/{id}", get(get::get))
        .route("/runs/{id}/retry", post(retry::retry))
}
