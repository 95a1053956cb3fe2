//! Who is looking: the session cookie read into the signed-in person's
//! [`SessionView`] and the `Principal` every page calls the operations as, and the
//! CSRF checks.
//!
//! - The cookie (`pilot_session`) is `HttpOnly`, `SameSite=Lax`, `Path=/`, and
//!   `Secure` when the public URL is https. Its value is the session token; the store
//!   keeps only its digest, so any node serves any session.
//! - Every state-changing request is a `POST` whose form carries `_csrf`, which must
//!   equal the session's CSRF token (compared in constant time). Before there is a
//!   session (sign-in, setup, reset) the form's `_csrf` must equal a `pilot_csrf`
//!   cookie set with the form (double submit), so another site cannot sign a
//!   browser into an account of its choosing.
//! - The environment a page shows is `?env=test` (else live): one session, both
//!   environments, each its own `Principal`.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use pilot_domain::{Environment, Principal};
use pilot_operations::{Operations, SessionView};
use rand::RngCore;
use serde::Serialize;

use crate::render;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pilot_session";
/// The pre-session CSRF cookie's name.
pub const CSRF_COOKIE: &str = "pilot_csrf";

/// A signed-in request: the session, the environment shown, and the principal.
pub struct Signed {
    pub session: SessionView,
    pub environment: Environment,
    pub principal: Principal,
    pub token: String,
}

/// What the layout shows of the signed-in person.
#[derive(Serialize)]
pub struct SignedInView {
    pub email: String,
    pub workspace_name: String,
    pub role: String,
    pub csrf_token: String,
    pub environment: &'static str,
    /// `?env=test` on links when the test environment is shown, else empty.
    pub env_query: &'static str,
}

impl Signed {
    pub fn view(&self) -> SignedInView {
        SignedInView {
            email: self.session.email.clone(),
            workspace_name: self.session.workspace_name.clone(),
            role: self.session.role.clone(),
            csrf_token: self.session.csrf_token.clone(),
            environment: self.environment.as_str(),
            env_query: env_query(self.environment),
        }
    }

    /// Refuses a form whose `_csrf` is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), CsrfRefused> {
        if same(sent, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(CsrfRefused)
        }
    }

    /// `path` with this page's environment kept.
    pub fn link(&self, path: &str) -> String {
        with_env(path, self.environment)
    }
}

pub fn env_query(environment: Environment) -> &'static str {
    match environment {
        Environment::Test => "?env=test",
        Environment::Live => "",
    }
}

/// `path` with `?env=test` (or `&env=test`) when the environment is test.
pub fn with_env(path: &str, environment: Environment) -> String {
    match environment {
        Environment::Live => path.to_owned(),
        Environment::Test if path.contains('?') => format!("{path}&env=test"),
        Environment::Test => format!("{path}?env=test"),
    }
}

fn environment_of(parts: &Parts) -> Environment {
    let test = parts
        .uri
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair == "env=test"));
    if test {
        Environment::Test
    } else {
        Environment::Live
    }
}

impl Signed {
    /// The live session `token` names, as this request's `Signed`; `Ok(None)` when
    /// the store knows no live session by it.
    async fn resolve(
        parts: &Parts,
        ops: &Operations,
        token: String,
    ) -> Result<Option<Signed>, Response> {
        let session = match ops.session(&token).await {
            Ok(session) => session,
            Err(error) if error.kind == pilot_operations::ErrorKind::Unauthenticated => {
                return Ok(None);
            }
            Err(error) => return Err(render::error_page(&error)),
        };
        let environment = environment_of(parts);
        let principal = ops
            .dashboard_principal(&session, environment)
            .await
            .map_err(|error| render::error_page(&error))?;
        Ok(Some(Signed {
            session,
            environment,
            principal,
            token,
        }))
    }
}

impl FromRequestParts<Operations> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ops: &Operations) -> Result<Self, Response> {
        let signed = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => Signed::resolve(parts, ops, token).await?,
            None => None,
        };
        signed.ok_or_else(|| {
            let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            Redirect::to(&format!("/signin?next={}", urlencode(next))).into_response()
        })
    }
}

impl OptionalFromRequestParts<Operations> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        ops: &Operations,
    ) -> Result<Option<Self>, Response> {
        match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => Signed::resolve(parts, ops, token).await,
            None => Ok(None),
        }
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.len() <= 256)
}

/// The `Set-Cookie` of a session: `HttpOnly`, `SameSite=Lax`, `Secure` over https.
pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age_secs.max(0)
    ))
    .expect("a token of URL-safe characters is a valid header")
}

/// The `Set-Cookie` that ends a session in the browser.
pub fn cleared_session_cookie() -> HeaderValue {
    HeaderValue::from_static("pilot_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A fresh pre-session CSRF token and its `Set-Cookie`.
pub fn new_form_csrf() -> (String, HeaderValue) {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let cookie = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600"
    ))
    .expect("hex is a valid header");
    (token, cookie)
}

/// Whether a pre-session form's `_csrf` matches its cookie.
pub fn form_csrf_ok(headers: &HeaderMap, sent: &str) -> bool {
    cookie(headers, CSRF_COOKIE).is_some_and(|expected| same(sent, &expected))
}

/// A form without this session's CSRF token: `403`.
#[derive(Debug)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        csrf_refused()
    }
}

pub fn csrf_refused() -> Response {
    render::message(
        axum::http::StatusCode::FORBIDDEN,
        "Form expired",
        "This form was not sent from a page of this dashboard, or it has expired. Go back, reload the page and try again.",
    )
}

/// Constant-time equality of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Percent-encodes a path for `?next=`.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A `next` that stays on this site: a path, never `//host` or a scheme.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_and_next_stays_on_site() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; pilot_session=tok; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/runs?env=test")), "/runs?env=test");
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
