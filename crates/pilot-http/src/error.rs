//! The HTTP layer's one error type.
//!
//! Use the constructor that names the client's mistake (`unauthorized`, `not_found`,
//! `validation`, …), or `?` on an operation's [`OpError`]; use `internal` for our
//! faults, whose details go to the log under the request id and never to the
//! client. An `ApiError` becomes a bare response carrying an [`ErrorInfo`]
//! extension; the surface boundary renders the body in that surface's shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pilot_operations::{ErrorCode, ErrorKind, OpError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable code, as the Deliberations surface shows it.
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds), for `429` and `503`.
    pub retry_after_secs: Option<u64>,
}

/// What the surface renderer reads off an error response.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// `429` with `Retry-After`.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        ApiError {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_api_key", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "insufficient_scope", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            message,
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error. Include the request id when you report it.",
        )
    }

    /// The default code for a status, for errors that arrive without one.
    pub fn code_for(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "invalid_request",
            401 => "invalid_api_key",
            402 => "insufficient_credits",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            408 => "request_timeout",
            409 => "conflict",
            413 => "payload_too_large",
            414 => "uri_too_long",
            415 => "unsupported_media_type",
            422 => "validation_error",
            429 => "rate_limited",
            431 => "headers_too_large",
            503 => "unavailable",
            _ if status.is_server_error() => "internal_error",
            _ => "invalid_request",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response.extensions_mut().insert(ErrorInfo {
            code: self.code,
            message: self.message,
        });
        response
    }
}

/// The status an operation's error is answered with: by its kind, but for the codes
/// HTTP has a status of its own for.
pub fn status_of(error: &OpError) -> StatusCode {
    match error.code {
        ErrorCode::MethodNotAllowed => return StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::RequestTimeout => return StatusCode::REQUEST_TIMEOUT,
        ErrorCode::UriTooLong => return StatusCode::URI_TOO_LONG,
        ErrorCode::HeadersTooLarge => return StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => {}
    }
    match error.kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::PaymentRequired => StatusCode::PAYMENT_REQUIRED,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<OpError> for ApiError {
    fn from(error: OpError) -> Self {
        ApiError {
            status: status_of(&error),
            code: error.code.as_str(),
            message: error.message,
            retry_after_secs: error.retry_after_secs,
        }
    }
}
