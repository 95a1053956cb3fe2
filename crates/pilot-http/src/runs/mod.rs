//! `GET /api/v1/runs/{id}` and `POST /api/v1/runs/{id}/retry`.

mod get;
mod retry;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/runs/{id}", get(get::get))
        .route("/runs/{id}/retry", post(retry::retry))
}

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("Run not found.")
}
