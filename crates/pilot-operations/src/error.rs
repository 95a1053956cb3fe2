//! The operations layer's one error type, [`OpError`]: a kind, a machine-readable
//! code, a message for people, and the facts a transport needs to answer it in its
//! own shape — when to retry, the rate limit's state, the balance and the estimate
//! of a short one.
//!
//! Transports map errors, never build them: the REST surfaces turn the kind into a
//! status and render code and message in their shape, MCP returns them as a tool
//! result with `isError`, the dashboard shows the message. Use the constructor that
//! names the caller's mistake (`not_found`, `validation`, `forbidden`, …); store
//! errors become [`OpError::internal`] through `?`, their detail logged, never shown.

use std::fmt;

use pilot_domain::Credits;
use pilot_store::StoreError;

use crate::rate_limit::RateLimitState;

/// What kind of failure this is; each transport maps it to its own answer (a status,
/// for the REST surfaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed (not valid JSON, a bad header).
    BadRequest,
    /// No valid credential.
    Unauthenticated,
    /// The credential may not do this (a missing scope, a blocked question).
    Forbidden,
    /// Nothing with that id in the caller's workspace and environment.
    NotFound,
    /// The state of things forbids it now (a paused pilot, a reused idempotency key).
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// The input is well-formed but not valid.
    Validation,
    /// The balance is short of what the operation would reserve.
    PaymentRequired,
    /// Too many requests; `retry_after_secs` says when to come back.
    RateLimited,
    /// A dependency (a model, the moderation check) is unavailable; retry later.
    Unavailable,
    /// Our fault. The message says nothing more.
    Internal,
}

/// The machine-readable codes, as the Deliberations surface and MCP show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidApiKey,
    InsufficientScope,
    ContentBlocked,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyConflict,
    PilotPaused,
    NoFailedStep,
    RunNotFinished,
    RequestTimeout,
    PayloadTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    ValidationError,
    InsufficientCredits,
    RateLimited,
    HeadersTooLarge,
    ModelUnavailable,
    Unavailable,
    InternalError,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidApiKey,
        ErrorCode::InsufficientScope,
        ErrorCode::ContentBlocked,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::IdempotencyConflict,
        ErrorCode::PilotPaused,
        ErrorCode::NoFailedStep,
        ErrorCode::RunNotFinished,
        ErrorCode::RequestTimeout,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationError,
        ErrorCode::InsufficientCredits,
        ErrorCode::RateLimited,
        ErrorCode::HeadersTooLarge,
        ErrorCode::ModelUnavailable,
        ErrorCode::Unavailable,
        ErrorCode::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::ContentBlocked => "content_blocked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::PilotPaused => "pilot_paused",
            ErrorCode::NoFailedStep => "no_failed_step",
            ErrorCode::RunNotFinished => "run_not_finished",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::InsufficientCredits => "insufficient_credits",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::ModelUnavailable => "model_unavailable",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::InternalError => "internal_error",
        }
    }

    /// The code a string names, for errors kept as text (idempotent replays).
    pub fn parse(raw: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|code| code.as_str() == raw)
    }

    /// The kind a code usually has (a code can be given another kind: the
    /// moderation check being down is `internal_error` of kind `Unavailable`).
    pub fn kind(self) -> ErrorKind {
        match self {
            ErrorCode::InvalidRequest => ErrorKind::BadRequest,
            ErrorCode::InvalidApiKey => ErrorKind::Unauthenticated,
            ErrorCode::InsufficientScope | ErrorCode::ContentBlocked | ErrorCode::Forbidden => {
                ErrorKind::Forbidden
            }
            ErrorCode::NotFound => ErrorKind::NotFound,
            ErrorCode::MethodNotAllowed => ErrorKind::BadRequest,
            ErrorCode::Conflict
            | ErrorCode::IdempotencyConflict
            | ErrorCode::PilotPaused
            | ErrorCode::NoFailedStep
            | ErrorCode::RunNotFinished => ErrorKind::Conflict,
            ErrorCode::RequestTimeout => ErrorKind::BadRequest,
            ErrorCode::PayloadTooLarge => ErrorKind::PayloadTooLarge,
            ErrorCode::UriTooLong | ErrorCode::HeadersTooLarge => ErrorKind::BadRequest,
            ErrorCode::UnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            ErrorCode::ValidationError => ErrorKind::Validation,
            ErrorCode::InsufficientCredits => ErrorKind::PaymentRequired,
            ErrorCode::RateLimited => ErrorKind::RateLimited,
            ErrorCode::ModelUnavailable | ErrorCode::Unavailable => ErrorKind::Unavailable,
            ErrorCode::InternalError => ErrorKind::Internal,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed operation, whatever the transport.
#[derive(Clone, Debug, PartialEq)]
pub struct OpError {
    pub kind: ErrorKind,
    pub code: ErrorCode,
    pub message: String,
    /// For `RateLimited` (and `Unavailable` where known): seconds until a retry may
    /// succeed.
    pub retry_after_secs: Option<u64>,
    /// The rate limit the request was counted against, when it was: transports that
    /// show limits (the Deliberations surface's `X-RateLimit-*`) show them on errors
    /// too.
    pub rate_limit: Option<RateLimitState>,
    /// For `PaymentRequired`: the balance and what the operation would have reserved
    /// (boxed: errors travel in `Result`s, and most have none).
    pub shortfall: Option<Box<Shortfall>>,
}

/// A balance short of a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    pub balance: Credits,
    pub estimate: Credits,
}

impl OpError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError {
            kind: code.kind(),
            code,
            message: message.into(),
            retry_after_secs: None,
            rate_limit: None,
            shortfall: None,
        }
    }

    /// The same error, of another kind than its code's usual one.
    pub fn of_kind(mut self, kind: ErrorKind) -> OpError {
        self.kind = kind;
        self
    }

    pub fn with_rate_limit(mut self, state: Option<RateLimitState>) -> OpError {
        self.rate_limit = state;
        self
    }

    pub fn bad_request(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::InvalidRequest, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::InvalidApiKey, message)
    }

    pub fn forbidden(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::InsufficientScope, message)
    }

    pub fn not_found(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::NotFound, message)
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError::new(code, message).of_kind(ErrorKind::Conflict)
    }

    pub fn validation(message: impl Into<String>) -> OpError {
        OpError::new(ErrorCode::ValidationError, message)
    }

    /// `RateLimited`, retry after at least a second.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> OpError {
        OpError {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..OpError::new(ErrorCode::RateLimited, message)
        }
    }

    /// `PaymentRequired`: the balance is short of the estimate (the Deliberations
    /// document's message, §7).
    pub fn insufficient_credits(balance: Credits, estimate: Credits) -> OpError {
        OpError {
            shortfall: Some(Box::new(Shortfall { balance, estimate })),
            ..OpError::new(
                ErrorCode::InsufficientCredits,
                format!(
                    "Workspace balance {:.2} < estimated {:.2}",
                    balance.as_f64(),
                    estimate.as_f64()
                ),
            )
        }
    }

    pub fn unavailable(code: ErrorCode, message: impl Into<String>) -> OpError {
        OpError::new(code, message).of_kind(ErrorKind::Unavailable)
    }

    pub fn internal() -> OpError {
        OpError::new(
            ErrorCode::InternalError,
            "Internal error. Include the request id when you report it.",
        )
    }

    /// Whether a retry of the same request may get another answer: such errors are
    /// not kept for idempotent replay (the key is released instead).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::PaymentRequired
                | ErrorKind::RateLimited
                | ErrorKind::Unavailable
                | ErrorKind::Internal
        )
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for OpError {}

impl From<StoreError> for OpError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store error");
        OpError::internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_text() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("teapot"), None);
    }

    #[test]
    fn transient_errors_are_the_retryable_kinds() {
        assert!(OpError::rate_limited("slow down", 0).is_transient());
        assert_eq!(
            OpError::rate_limited("slow down", 0).retry_after_secs,
            Some(1)
        );
        assert!(OpError::internal().is_transient());
        assert!(!OpError::validation("bad").is_transient());
        assert!(!OpError::not_found("gone").is_transient());
    }
}
