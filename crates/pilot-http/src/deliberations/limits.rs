//! §6's rate-limit fields, on every answer to a request the operation counted
//! (`Answer::rate_limit`; the limits themselves are the operations', see
//! `pilot_operations::deliberations`).
//!
//! The limits are GCRA buckets: a key may spend its whole limit at once, and it
//! comes back one request every `window / limit` (a minute for 60 an hour). The
//! fields say exactly that:
//!
//! * `X-RateLimit-Limit`: the limit (`60`);
//! * `X-RateLimit-Remaining`: requests that would go through right now;
//! * `X-RateLimit-Reset`: the Unix second by which all of them are back;
//! * `RateLimit: "default";r=<remaining>;t=<s>`: `t` is the seconds until one more
//!   request is available (0 while some are), as draft-ietf-httpapi-ratelimit-headers
//!   defines it for limits that refill gradually;
//! * `RateLimit-Policy: "default";q=<limit>;w=<window seconds>`;
//! * on a `429`, `Retry-After` is that same `t` (at least 1), set with the error.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use pilot_operations::RateLimitState;

/// The rate-limit header fields for a bucket's state.
pub fn headers(state: &RateLimitState) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put("x-ratelimit-limit", state.limit.to_string());
    put("x-ratelimit-remaining", state.remaining.to_string());
    put("x-ratelimit-reset", state.full_at_secs().to_string());
    put(
        "ratelimit",
        format!(
            "\"default\";r={};t={}",
            state.remaining,
            state.next_in_secs()
        ),
    );
    put(
        "ratelimit-policy",
        format!("\"default\";q={};w={}", state.limit, state.window_secs),
    );
    headers
}

/// `response` with the fields of the limit its request was counted against, if it
/// was.
pub fn stamp(mut response: Response, state: Option<&RateLimitState>) -> Response {
    if let Some(state) = state {
        response.headers_mut().extend(headers(state));
    }
    response
}
