//! Redirects, followed by hand so that every hop passes the same checks as the first.
//!
//! The HTTP client is built with redirects off. When a response is a redirect
//! (`301`, `302`, `303`, `307`, `308` with a `Location`), the client checks the new
//! URL like a new request and sends the next [`Hop`]. A redirect status without a
//! `Location` is an ordinary response.
//!
//! How a hop changes follows the Fetch standard, as browsers and `curl -L` do:
//!
//! * `303` turns any method but `HEAD` into `GET`; `301` and `302` turn `POST` into
//!   `GET`; the body and the headers describing it are dropped then. `307` and `308`
//!   resend the same method and body.
//! * Crossing to another origin (scheme, host or port) keeps only headers that
//!   cannot carry a credential ([`CROSS_ORIGIN_SAFE`]). Browsers drop
//!   `Authorization` alone; Pilot drops every other header too, because `http` steps
//!   template secrets into headers of any name (`X-Api-Key`), and an open redirect on
//!   the first host must not forward them to a host the user never named.

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::{OutboundError, redacted_url};

/// Headers kept when a redirect crosses to another origin.
const CROSS_ORIGIN_SAFE: [HeaderName; 6] = [
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    header::CONTENT_LANGUAGE,
    header::CONTENT_TYPE,
    header::USER_AGENT,
    header::ACCEPT_ENCODING,
];

/// Headers that describe a request body, dropped with it.
const BODY_HEADERS: [HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::CONTENT_LANGUAGE,
    header::CONTENT_LOCATION,
];

/// One request in a redirect chain.
#[derive(Clone, Debug)]
pub(crate) struct Hop {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

/// Where a response redirects to: `None` when it is not a redirect to follow, an
/// error when its `Location` is not a URL.
pub(crate) fn target(
    from: &Url,
    status: StatusCode,
    headers: &HeaderMap,
) -> Option<Result<Url, OutboundError>> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = headers.get(header::LOCATION)?;
    let next = location
        .to_str()
        .ok()
        .and_then(|location| from.join(location).ok());
    Some(next.ok_or_else(|| OutboundError::BadRedirect {
        url: redacted_url(from),
    }))
}

impl Hop {
    /// The hop that follows a `status` redirect to `to`.
    pub(crate) fn redirected(mut self, status: StatusCode, to: Url) -> Hop {
        let becomes_get = match status {
            StatusCode::SEE_OTHER => self.method != Method::HEAD,
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => self.method == Method::POST,
            _ => false,
        };
        if becomes_get {
            self.method = Method::GET;
            self.body = None;
            for name in &BODY_HEADERS {
                self.headers.remove(name);
            }
        }
        if self.url.origin() != to.origin() {
            let mut kept = HeaderMap::new();
            for name in &CROSS_ORIGIN_SAFE {
                for value in self.headers.get_all(name) {
                    kept.append(name.clone(), value.clone());
                }
            }
            self.headers = kept;
        }
        self.url = to;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    fn hop(method: Method) -> Hop {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s"));
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        Hop {
            method,
            url: url("https://a.example/start"),
            headers,
            body: Some(Bytes::from_static(b"{}")),
        }
    }

    fn location(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            HeaderValue::from_str(value).expect("test header"),
        );
        headers
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let from = url("https://a.example/x/y?q");
        let next = target(&from, StatusCode::FOUND, &location("../z"));
        assert_eq!(next, Some(Ok(url("https://a.example/z"))));
        let next = target(&from, StatusCode::FOUND, &location("//b.example/"));
        assert_eq!(next, Some(Ok(url("https://b.example/"))));
    }

    #[test]
    fn only_redirect_statuses_with_a_location_are_followed() {
        let from = url("https://a.example/");
        assert_eq!(target(&from, StatusCode::OK, &location("/x")), None);
        assert_eq!(
            target(&from, StatusCode::NOT_MODIFIED, &location("/x")),
            None
        );
        assert_eq!(target(&from, StatusCode::FOUND, &HeaderMap::new()), None);
        assert_eq!(
            target(&from, StatusCode::FOUND, &location("http://[::1")),
            Some(Err(OutboundError::BadRedirect {
                url: "https://a.example/".into()
            }))
        );
    }

    #[test]
    fn see_other_and_post_after_found_become_get_without_body() {
        for (method, status) in [
            (Method::POST, StatusCode::SEE_OTHER),
            (Method::PUT, StatusCode::SEE_OTHER),
            (Method::POST, StatusCode::FOUND),
            (Method::POST, StatusCode::MOVED_PERMANENTLY),
        ] {
            let next = hop(method).redirected(status, url("https://a.example/next"));
            assert_eq!(next.method, Method::GET);
            assert_eq!(next.body, None);
            assert!(next.headers.get(header::CONTENT_TYPE).is_none());
            assert!(
                next.headers.get(header::AUTHORIZATION).is_some(),
                "same origin"
            );
        }
    }

    #[test]
    fn temporary_and_permanent_redirects_resend_method_and_body() {
        for status in [
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::PERMANENT_REDIRECT,
        ] {
            let next = hop(Method::POST).redirected(status, url("https://a.example/next"));
            assert_eq!(next.method, Method::POST);
            assert_eq!(next.body, Some(Bytes::from_static(b"{}")));
            assert_eq!(next.url, url("https://a.example/next"));
        }
        let put = hop(Method::PUT).redirected(StatusCode::FOUND, url("https://a.example/n"));
        assert_eq!(put.method, Method::PUT);
    }

    #[test]
    fn another_origin_gets_only_safe_headers() {
        for to in [
            "https://b.example/",
            "http://a.example/",
            "https://a.example:8443/",
        ] {
            let next = hop(Method::POST).redirected(StatusCode::TEMPORARY_REDIRECT, url(to));
            let names: Vec<&str> = next.headers.keys().map(HeaderName::as_str).collect();
            assert_eq!(names, ["accept", "content-type"], "{to}");
        }
    }
}
