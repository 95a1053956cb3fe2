//! What a caller hands the guard and what it gets back.
//!
//! Both types print without secrets: their `Debug` shows the redacted URL, header
//! names (not values) and the body's length, so `tracing::debug!(?request)` is safe.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::redacted_url;

/// An outbound HTTP request, checked and sent by [`crate::OutboundClient`].
#[derive(Clone)]
pub struct OutboundRequest {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) follow_redirects: bool,
}

impl OutboundRequest {
    /// A request with no headers and no body. The URL is parsed and checked when the
    /// request is sent.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        OutboundRequest {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            follow_redirects: true,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        OutboundRequest::new(Method::GET, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        OutboundRequest::new(Method::POST, url)
    }

    /// Adds a header (repeating a name adds another value).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Adds every header of `headers`.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        for (name, value) in &headers {
            self.headers.append(name.clone(), value.clone());
        }
        self
    }

    /// Sets the body, which `307`/`308` redirects send again.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Answers a redirect with the `3xx` response itself instead of following it
    /// (webhook deliveries: a redirect is a failed attempt, never a new target).
    pub fn without_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    /// A shorter time limit than the policy's for this request; a longer one is cut
    /// to the policy's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url =
            Url::parse(&self.url).map_or_else(|_| "<unparsed>".to_owned(), |u| redacted_url(&u));
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The final response, after redirects, with its body read up to the bound.
#[derive(Clone)]
pub struct OutboundResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// At most the policy's `max_response_bytes`.
    pub body: Bytes,
    /// Whether the body was cut at the bound (only from
    /// [`crate::OutboundClient::send`]).
    pub truncated: bool,
    /// The URL that answered, after redirects. It may hold secrets: show it with
    /// [`crate::redacted_url`].
    pub url: Url,
}

impl fmt::Debug for OutboundResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundResponse")
            .field("status", &self.status)
            .field("url", &redacted_url(&self.url))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .field("truncated", &self.truncated)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_carries_no_secrets() {
        let request = OutboundRequest::post("https://hooks.example/T0/B0/s3cr3t?token=t0k3n")
            .header(
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_static("k3y"),
            )
            .body("payload");
        let shown = format!("{request:?}");
        assert!(shown.contains("https://hooks.example/…"), "{shown}");
        assert!(shown.contains("x-api-key"), "{shown}");
        for secret in ["s3cr3t", "t0k3n", "k3y", "payload"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn headers_accumulate() {
        let mut extra = HeaderMap::new();
        extra.insert("x-b", HeaderValue::from_static("2"));
        let request = OutboundRequest::get("https://a.example/")
            .header(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("1"),
            )
            .header(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("3"),
            )
            .headers(extra);
        assert_eq!(request.headers.get_all("x-a").iter().count(), 2);
        assert_eq!(request.headers["x-b"], "2");
    }
}
