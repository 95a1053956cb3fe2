//! What the application answers when a request takes too long, in the surface's
//! shape with a request id.
//!
//! * **The body** must arrive whole within `http.body_read_timeout_ms` of the head
//!   ([`body`]): the request's body is wrapped so that reading it past the deadline
//!   fails, and whatever the handler made of that failure (a `400`, usually) is
//!   replaced by `408 request_timeout`, with `Connection: close` — the rest of the
//!   body may still be on its way, so the connection cannot be reused. A client that
//!   sends a `Content-Length` and then less than that is the case in point. The
//!   deadline covers the whole body, not each read, so trickling a byte at a time
//!   does not stretch it.
//! * **The response** must be ready within `http.request_timeout_ms` ([`request`]):
//!   past it the handler is dropped and the answer is `503`. What is bounded is the
//!   time until the response head, so a streamed body — the server-sent events of
//!   `GET /v1/api/deliberations/{id}/events` — goes on past it (streams have their
//!   own bounds). An idempotent request is the exception to "dropped": once its
//!   operation has claimed its key, the work runs to its end on a task of its own
//!   and keeps its answer for the retry (`pilot_operations::idempotency`).
//!
//! The head's own timeout is hyper's (`crate::server`): a head that never completes
//! is not a request yet, so there is nothing to answer.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;

/// `503` when the response head is not ready within `timeout`.
pub async fn request(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "The server did not finish this request within {}. Retry it, with the same \
                 Idempotency-Key if it had one.",
                spelled(timeout)
            ),
        )
        .into_response(),
    }
}

/// `408` when the body does not arrive within `timeout`.
pub async fn body(timeout: Duration, request: Request, next: Next) -> Response {
    use http_body::Body as _;
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(Deadline {
            inner: body,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
            expired: Arc::clone(&expired),
            ended: false,
        })
    });
    let response = next.run(request).await;
    if !expired.load(Ordering::Acquire) {
        return response;
    }
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!(
            "The request body did not arrive within {}.",
            spelled(timeout)
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// "30 seconds", or "250 ms" for what is not whole seconds.
fn spelled(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} seconds", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// A request body that fails once its deadline has passed, and says so.
struct Deadline {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
    /// The whole body arrived: the deadline no longer matters.
    ended: bool,
}

/// The error a body past its deadline reads as.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
