//! Headers that must appear at most once.
//!
//! HTTP lets most fields repeat, and for `Authorization`, `Content-Type` and
//! `Idempotency-Key` a repeat has no meaning: `HeaderMap::get` would quietly take
//! the first, so a request could be authenticated by one credential while something
//! in front of Pilot (a proxy, a log, a WAF) judged it by another, or be keyed by
//! one idempotency key while its sender meant the other. Such a request is `400`
//! in the surface's shape, before authentication looks at any of them.

use axum::extract::Request;
use axum::http::HeaderName;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::input::IDEMPOTENCY_KEY;

/// The fields a request may carry once.
fn singular() -> [(HeaderName, &'static str); 3] {
    [
        (AUTHORIZATION, "Authorization"),
        (CONTENT_TYPE, "Content-Type"),
        (HeaderName::from_static(IDEMPOTENCY_KEY), "Idempotency-Key"),
    ]
}

/// Answers `400` to a request that repeats one of the singular fields.
pub async fn once(request: Request, next: Next) -> Response {
    for (name, display) in singular() {
        if request.headers().get_all(&name).iter().nth(1).is_some() {
            return ApiError::bad_request(format!(
                "Send the {display} header once; this request has it more than once."
            ))
            .into_response();
        }
    }
    next.run(request).await
}
