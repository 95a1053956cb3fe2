//! Authentication: `Authorization: Bearer pk_…` → a [`Principal`] in the request.
//!
//! Every failure is a `401` — missing, malformed, unknown or revoked — rendered in
//! the surface's shape. Keys are looked up by SHA-256 digest; the key itself is
//! never stored or logged.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_domain::{ApiKeyToken, Principal, Scope};

use crate::AppState;
use crate::error::ApiError;

pub const MISSING: &str = "Missing API key. Send it as 'Authorization: Bearer <key>'.";
pub const MALFORMED: &str = "Malformed API key.";
pub const UNKNOWN: &str = "Invalid API key.";
pub const REVOKED: &str = "This API key has been revoked.";

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match principal_for(&state, request.headers().get(AUTHORIZATION)).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

async fn principal_for(
    state: &AppState,
    header: Option<&axum::http::HeaderValue>,
) -> Result<Principal, ApiError> {
    let header = header.ok_or_else(|| ApiError::unauthorized(MISSING))?;
    let raw = header
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized(MALFORMED))?;
    let token = ApiKeyToken::parse(raw).map_err(|_| ApiError::unauthorized(MALFORMED))?;
    let found = state
        .store
        .find_key_by_digest(&token.digest())
        .await?
        .ok_or_else(|| ApiError::unauthorized(UNKNOWN))?;
    if found.key.revoked_at.is_some() {
        return Err(ApiError::unauthorized(REVOKED));
    }
    Ok(Principal {
        workspace_id: found.key.workspace_id,
        workspace_name: found.workspace_name,
        environment: found.key.environment,
        key_id: found.key.id,
        key_prefix: found.key.prefix,
        scopes: found.key.scopes,
    })
}

/// The authenticated caller, for handlers behind [`authenticate`].
pub struct Caller(pub Principal);

impl Caller {
    /// `403` unless the key holds `scope` (a write scope implies its read scope).
    pub fn require(&self, scope: Scope) -> Result<&Principal, ApiError> {
        require(&self.0, scope)
    }
}

/// `403 insufficient_scope` unless `principal`'s key holds `scope`: the one check
/// behind [`Caller::require`] and the surface-wide [`crate::authorize`] layer, so both
/// answer alike.
pub fn require(principal: &Principal, scope: Scope) -> Result<&Principal, ApiError> {
    if principal.allows(scope) {
        Ok(principal)
    } else {
        Err(ApiError::forbidden(format!(
            "This API key lacks the {scope} scope."
        )))
    }
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
