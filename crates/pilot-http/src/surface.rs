//! The boundary where every error takes its surface's shape.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_domain::Scope;
use serde_json::json;

use crate::error::{ApiError, ErrorInfo};
use crate::request_id::RequestId;

/// Which API a request is on; decides the error body's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// `/api/v1`: `{"error": "message"}`.
    Pilots,
    /// `/v1/api`: `{"error": {"code", "message", "request_id"}}`.
    Deliberations,
}

impl Surface {
    /// The scope every write (`POST`, `PUT`, `PATCH`, `DELETE`) on this surface
    /// needs, checked by [`crate::authorize`] before anything else looks at the write.
    pub fn write_scope(self) -> Scope {
        match self {
            Surface::Pilots => Scope::PilotsWrite,
            Surface::Deliberations => Scope::DeliberationsWrite,
        }
    }

    pub fn body(self, code: &str, message: &str, request_id: &str) -> serde_json::Value {
        match self {
            Surface::Pilots => json!({ "error": message }),
            Surface::Deliberations => json!({
                "error": { "code": code, "message": message, "request_id": request_id }
            }),
        }
    }
}

/// Largest body of a framework error we read to reuse its text.
const PLAIN_ERROR_LIMIT: usize = 4096;

/// Renders error responses of one surface in its shape. Errors from our handlers carry
/// [`ErrorInfo`]; anything else with an error status (a rejection, a 405, a caught
/// panic) is rendered from its status and text.
pub async fn render_errors(surface: Surface, request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let response = next.run(request).await;
    shape(surface, &request_id, response).await
}

/// Outside both surfaces (health, metrics, unknown paths): errors as `{"error": "..."}`.
pub async fn render_plain_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    shape(Surface::Pilots, "", response).await
}

async fn shape(surface: Surface, request_id: &str, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let info = match parts.extensions.remove::<ErrorInfo>() {
        Some(info) => info,
        None if is_json(&parts.headers) => return Response::from_parts(parts, body),
        None => ErrorInfo {
            code: ApiError::code_for(status),
            message: framework_message(status, body).await,
        },
    };
    let rendered = surface.body(info.code, &info.message, request_id);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rendered.to_string()))
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A readable message for an error that came without one of ours. Server errors never
/// pass their text on.
async fn framework_message(status: StatusCode, body: Body) -> String {
    if status.is_server_error() {
        return ApiError::internal().message;
    }
    let text = axum::body::to_bytes(body, PLAIN_ERROR_LIMIT)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_default();
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is too large.".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed on this path.".to_owned(),
        _ if !text.is_empty() => text,
        _ => status.canonical_reason().unwrap_or("Error").to_owned(),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("Not found.")
}

/// A panic in a handler becomes a plain 500; [`render_errors`] gives it the shape.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "handler panicked");
    ApiError::internal().into_response()
}
