//! The application's limits on a request's head — the URI's length (`414`), the
//! number of header fields and their total size (`431`) — answered in the surface's
//! shape with a request id.
//!
//! hyper parses the head before any of this runs, and it enforces limits of its
//! own; `crate::server` sets those a few times above these (`HttpConfig::hyper_*`),
//! so that a head a little over the application's limits — the usual case: a
//! runaway query string, a cookie jar, a proxy's additions — reaches here and is
//! answered like any other error. A head past hyper's ceilings, or one it cannot
//! parse, is answered by hyper, bare (README "Limits and timeouts").

use axum::extract::{OriginalUri, Request};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::HttpConfig;
use crate::error::ApiError;

/// The limits, copied out of [`HttpConfig`] for the layer.
#[derive(Clone, Copy, Debug)]
pub struct HeadLimits {
    pub max_uri_bytes: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
}

impl From<&HttpConfig> for HeadLimits {
    fn from(config: &HttpConfig) -> Self {
        HeadLimits {
            max_uri_bytes: config.max_uri_bytes,
            max_headers: config.max_headers,
            max_header_bytes: config.max_header_bytes,
        }
    }
}

pub async fn check(limits: HeadLimits, request: Request, next: Next) -> Response {
    // Nested routers see their own part of the path; measure what the client sent.
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or(request.uri(), |original| &original.0);
    if uri_bytes(uri) > limits.max_uri_bytes {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "The request URI is longer than {} bytes.",
                limits.max_uri_bytes
            ),
        )
        .into_response();
    }
    let headers = request.headers();
    if headers.len() > limits.max_headers {
        return too_large(format!(
            "The request has more than {} header fields.",
            limits.max_headers
        ));
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    if header_bytes > limits.max_header_bytes {
        return too_large(format!(
            "The request's header fields are larger than {} bytes.",
            limits.max_header_bytes
        ));
    }
    next.run(request).await
}

/// The request target as sent: path and query, or the absolute form's whole URI.
fn uri_bytes(uri: &Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + "://".len());
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    scheme + authority + target
}

fn too_large(message: String) -> Response {
    ApiError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
        message,
    )
    .into_response()
}
