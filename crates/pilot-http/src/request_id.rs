//! `X-Request-Id` on every response: `req_` and a ULID, made here for each request.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

/// The current request's id, in the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn generate() -> Self {
        RequestId(format!("req_{}", ulid::Ulid::new()))
    }
}

pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = RequestId::generate();
    request.extensions_mut().insert(id.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id.0,
        method = %request.method(),
        path = %request.uri().path()
    );
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    response.headers_mut().insert(
        HEADER,
        HeaderValue::from_str(&id.0).expect("request ids are ASCII"),
    );
    response
}
