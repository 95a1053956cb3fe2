//! Answering with what an operation answered: a view as JSON with the status the
//! endpoint gives it, or the error (rendered in the surface's shape by
//! [`crate::surface`]); a replayed answer says so (`Idempotent-Replayed: true`, and
//! `Cache-Control: no-store` on a replayed success).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pilot_operations::{Answer, Replayable};
use serde::Serialize;

use crate::error::ApiError;

/// `answer` as a response: its view under `status`, or its error.
pub fn replayable<T: Serialize>(status: StatusCode, answer: Answer<Replayable<T>>) -> Response {
    let replayed = answer.replayed;
    let mut response = match answer.result {
        Ok(view) => (status, Json(view)).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    };
    if replayed {
        let headers = response.headers_mut();
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        if status.is_success() && response.status().is_success() {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    response
}
