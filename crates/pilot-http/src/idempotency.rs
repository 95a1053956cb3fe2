//! `Idempotency-Key` on every `POST` of both surfaces.
//!
//! A request that carries the header is run at most once per key within the TTL
//! (24 h by default): the first one claims the key in the store (one row per
//! `(tenant, key)`, so of concurrent requests exactly one runs), and its response is
//! kept; a later request with the same key and the same method, path and body gets
//! that response again (with `Idempotent-Replayed: true`); the same key with a
//! different request is `409 idempotency_conflict`. A request that arrives while the
//! first is still running waits for its response (bounded), then replays it.
//!
//! Once a request has claimed its key it runs to its end on a task of its own, even
//! if its caller goes away or the request timeout answers `503` first
//! (`crate::timeouts`), so a key is never left claimed with no answer kept.
//!
//! Responses that say "try again" — `402`, `429` and `5xx` — are not kept: the key is
//! released so a retry runs afresh. Error responses are kept as their code and
//! message, and rendered again in the surface's shape with the new request id.
//!
//! The layer runs after authentication (the tenant scopes the key) and after the
//! surface's write scope is checked ([`crate::authorize`]), so a key that may not
//! make the request never learns whether its `Idempotency-Key` is known — no replay,
//! no `409` — and before the handlers; the body is buffered within the surface's
//! body limit to be hashed.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_domain::Principal;
use pilot_domain::deliberation::MAX_IDEMPOTENCY_KEY_CHARS;
use pilot_store::IdempotencyBegin;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::AppState;
use crate::error::{ApiError, ErrorInfo};
use crate::extract;

pub const HEADER: &str = "idempotency-key";
/// How long a request waits for an in-flight twin before giving up with `409`.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(10);
/// Largest response body kept for replay.
const MAX_KEPT_BYTES: usize = 256 * 1024;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(raw_key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let Some(key) = visible_key(raw_key) else {
        return ApiError::validation(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible characters \
             (printable ASCII without spaces or control characters)."
        ))
        .into_response();
    };
    let Some(principal) = request.extensions().get::<Principal>().cloned() else {
        return next.run(request).await;
    };
    let scope = format!(
        "{}:{}",
        principal.workspace_id,
        principal.environment.as_str()
    );
    // Read as the handlers' extractors read it (the same limit, the same answers:
    // 413 over the limit, 400 for a body that broke off).
    let (parts, body) = request.into_parts();
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &state).await {
        Ok(bytes) => bytes,
        Err(rejection) => {
            return ApiError::from(extract::body_rejection(rejection)).into_response();
        }
    };
    let fingerprint = fingerprint(&parts.method, parts.uri.path(), &bytes);
    let ttl_ms = state.idempotency_ttl_ms;

    let deadline = tokio::time::Instant::now() + IN_FLIGHT_WAIT;
    loop {
        let now = state.clock.now();
        let begun = match state
            .store
            .idempotency_begin(&scope, &key, &fingerprint, now, ttl_ms)
            .await
        {
            Ok(begun) => begun,
            Err(error) => return ApiError::from(error).into_response(),
        };
        match begun {
            IdempotencyBegin::Started => break,
            IdempotencyBegin::Replay { status, body } => return replay(status, body),
            IdempotencyBegin::Conflict => {
                return ApiError::conflict(
                    "idempotency_conflict",
                    "This Idempotency-Key was already used with a different request.",
                )
                .into_response();
            }
            IdempotencyBegin::InFlight => {
                if tokio::time::Instant::now() >= deadline {
                    return ApiError::conflict(
                        "idempotency_conflict",
                        "A request with this Idempotency-Key is still in progress; retry shortly.",
                    )
                    .into_response();
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }

    // The key is ours now: run the request to its end on a task of its own, so that
    // a caller who goes away, or the request timeout, cannot leave the key claimed
    // with nothing kept. Its answer is kept for the retry either way.
    let request = Request::from_parts(parts, Body::from(bytes));
    let run = {
        let (state, scope, key) = (state.clone(), scope.clone(), key.clone());
        tokio::spawn(
            async move {
                let response = next.run(request).await;
                keep(&state, &scope, &key, response).await
            }
            .instrument(tracing::Span::current()),
        )
    };
    match run.await {
        Ok(response) => response,
        Err(failed) => {
            // A panic is a 5xx: release the key as for any, then let the panic reach
            // the surface's panic catcher.
            if let Err(error) = state.store.idempotency_abandon(&scope, &key).await {
                tracing::warn!(%error, "could not release an idempotency key");
            }
            match failed.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => ApiError::internal().into_response(),
            }
        }
    }
}

/// The header's value if it is 1 to 255 visible characters: HTTP's `VCHAR`,
/// `!` to `~`. Tabs and other control characters, spaces and bytes beyond ASCII are
/// not (header values may carry them, `HeaderValue::to_str` lets tabs through).
fn visible_key(raw: &HeaderValue) -> Option<String> {
    let bytes = raw.as_bytes();
    let visible = (1..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&bytes.len())
        && bytes.iter().all(|b| (b'!'..=b'~').contains(b));
    visible.then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// SHA-256 over method, path and body: "the same request".
fn fingerprint(method: &Method, path: &str, body: &Bytes) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Stores what the handler answered (or releases the key), and passes it on.
async fn keep(state: &AppState, scope: &str, key: &str, response: Response) -> Response {
    let status = response.status();
    let transient = status == StatusCode::PAYMENT_REQUIRED
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if transient {
        if let Err(error) = state.store.idempotency_abandon(scope, key).await {
            tracing::warn!(%error, "could not release an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let kept = if let Some(info) = parts.extensions.get::<ErrorInfo>() {
        json!({"error": {"code": info.code, "message": info.message}})
    } else {
        match axum::body::to_bytes(body, MAX_KEPT_BYTES).await {
            Ok(bytes) => {
                let value = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
                let rebuilt = Response::from_parts(parts, Body::from(bytes));
                finish(state, scope, key, status, &json!({"body": value})).await;
                return rebuilt;
            }
            Err(_) => {
                tracing::warn!("a response too large to keep for idempotent replay");
                let _ = state.store.idempotency_abandon(scope, key).await;
                return Response::from_parts(parts, Body::empty());
            }
        }
    };
    finish(state, scope, key, status, &kept).await;
    Response::from_parts(parts, body)
}

async fn finish(state: &AppState, scope: &str, key: &str, status: StatusCode, kept: &Value) {
    if let Err(error) = state
        .store
        .idempotency_finish(scope, key, status.as_u16(), kept)
        .await
    {
        tracing::warn!(%error, "could not keep a response for idempotent replay");
    }
}

/// The kept response again: a JSON body as it was, an error in the surface's shape.
fn replay(status: u16, kept: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = if let Some(error) = kept.get("error") {
        let code = error["code"].as_str().unwrap_or("invalid_request");
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        ApiError::new(status, static_code(code), message).into_response()
    } else {
        let body = kept.get("body").cloned().unwrap_or(Value::Null);
        (status, axum::Json(body)).into_response()
    };
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Error codes are `&'static str`; a kept one maps back to the known set.
fn static_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "invalid_request",
        "invalid_api_key",
        "insufficient_credits",
        "insufficient_scope",
        "content_blocked",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "conflict",
        "idempotency_conflict",
        "pilot_paused",
        "no_failed_step",
        "run_not_finished",
        "payload_too_large",
        "unsupported_media_type",
        "validation_error",
        "rate_limited",
        "model_unavailable",
    ];
    KNOWN
        .iter()
        .find(|known| **known == code)
        .copied()
        .unwrap_or("invalid_request")
}
