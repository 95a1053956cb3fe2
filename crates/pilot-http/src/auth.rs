//! Authentication: `Authorization: Bearer pk_…` → a [`Principal`] in the request,
//! by the operations layer's [`Operations::authenticate`](pilot_operations::Operations::authenticate).
//!
//! Every failure is a `401` — missing, malformed, unknown or revoked — rendered in
//! the surface's shape. Keys are looked up by SHA-256 digest; the key itself is
//! never stored or logged.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_domain::{Principal, Scope};
pub use pilot_operations::{MALFORMED, MISSING, REVOKED, UNKNOWN};

use crate::AppState;
use crate::error::ApiError;

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().map_err(|_| ()));
    match state.ops.authenticate(header).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => {
            // The body is left unread: say the connection ends with this answer, so a
            // client does not send its next request down a connection hyper closes.
            let mut response = ApiError::from(error).into_response();
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            response
        }
    }
}

/// The authenticated caller, for handlers behind [`authenticate`].
pub struct Caller(pub Principal);

impl Caller {
    /// `403` unless the key holds `scope` (a write scope implies its read scope).
    pub fn require(&self, scope: Scope) -> Result<&Principal, ApiError> {
        require(&self.0, scope)
    }
}

/// `403 insufficient_scope` unless `principal`'s key holds `scope`: the operations'
/// own check ([`pilot_operations::authorize::require`]), for the surface-wide
/// [`crate::authorize`] layer, so both answer alike.
pub fn require(principal: &Principal, scope: Scope) -> Result<&Principal, ApiError> {
    pilot_operations::authorize::require(principal, scope)?;
    Ok(principal)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized(MISSING))
    }
}
