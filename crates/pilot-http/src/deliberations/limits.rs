//! §6 rate limits: `POST` per key per hour, `GET` per key per minute, with the
//! document's `X-RateLimit-*` headers and the IETF `RateLimit` / `RateLimit-Policy`
//! fields on every response they apply to.
//!
//! The limits are GCRA buckets ([`crate::rate_limit`]): a key may spend its whole
//! limit at once, and it comes back one request every `window / limit` (a minute for
//! 60 an hour). The fields say exactly that:
//!
//! * `X-RateLimit-Limit`: the limit (`60`);
//! * `X-RateLimit-Remaining`: requests that would go through right now;
//! * `X-RateLimit-Reset`: the Unix second by which all of them are back;
//! * `RateLimit: "default";r=<remaining>;t=<s>`: `t` is the seconds until one more
//!   request is available (0 while some are), as draft-ietf-httpapi-ratelimit-headers
//!   defines it for limits that refill gradually;
//! * `RateLimit-Policy: "default";q=<limit>;w=<window seconds>`;
//! * on a `429`, `Retry-After` is that same `t` (at least 1).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use pilot_domain::Principal;

use crate::AppState;
use crate::error::ApiError;
use crate::rate_limit::{self, Limit, Verdict};

#[derive(Clone, Copy)]
pub enum Kind {
    Post,
    Get,
}

/// Counts one request of `kind` for the caller's key.
pub async fn count(state: &AppState, who: &Principal, kind: Kind) -> Result<Verdict, ApiError> {
    let (name, limit) = match kind {
        Kind::Post => (
            "post",
            Limit {
                limit: state.ops.policy().deliberation_posts.limit,
                window_ms: 3_600_000,
            },
        ),
        Kind::Get => (
            "get",
            Limit {
                limit: state.ops.policy().deliberation_reads.limit,
                window_ms: 60_000,
            },
        ),
    };
    rate_limit::check(state, &format!("dlb:{name}:{}", who.key_id), limit).await
}

/// The rate-limit header fields for a verdict.
pub fn headers(verdict: &Verdict, window_secs: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let reset_at = verdict.full_at_secs();
    let reset_in = verdict.next_in_secs();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-ratelimit-limit", verdict.limit.to_string());
    put("x-ratelimit-remaining", verdict.remaining.to_string());
    put("x-ratelimit-reset", reset_at.to_string());
    put(
        "ratelimit",
        format!("\"default\";r={};t={reset_in}", verdict.remaining),
    );
    put(
        "ratelimit-policy",
        format!("\"default\";q={};w={window_secs}", verdict.limit),
    );
    headers
}

/// A response with the verdict's headers; `429` when the request is over the limit.
pub fn respond(verdict: &Verdict, window_secs: i64, response: Response) -> Response {
    let mut response = if verdict.allowed {
        response
    } else {
        ApiError::rate_limited(
            format!(
                "Rate limit exceeded ({} per {}). Retry after {} seconds.",
                verdict.limit,
                if window_secs == 3600 {
                    "hour"
                } else {
                    "minute"
                },
                verdict.retry_after_secs()
            ),
            verdict.retry_after_secs(),
        )
        .into_response()
    };
    response.headers_mut().extend(headers(verdict, window_secs));
    response
}
