//! Authorisation of writes, before anything looks at what a write would touch.
//!
//! Each surface declares the scope its writes need ([`Surface::write_scope`]:
//! `pilots:write` on `/api/v1`, `deliberations:write` on `/v1/api`). This layer runs
//! right after [`crate::auth::authenticate`] and checks that scope on every `POST`,
//! `PUT`, `PATCH` and `DELETE` of the surface, before the handler runs (and so
//! before its operation looks the request's `Idempotency-Key` up). A key without it
//! gets the same `403 insufficient_scope` the handler's own check would answer,
//! whatever the request, its path or its key: no replay, no `409`, no `404` or `405`
//! that would tell it something a write could not.
//!
//! Operations still check their own scope, which may be finer than the surface's,
//! before their idempotency key; a replay hands back only what the first request
//! answered, so holding the surface's write scope, which implies its read scope, is
//! what entitles a caller to it.

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pilot_domain::Principal;

use crate::auth::{self, MISSING};
use crate::error::ApiError;
use crate::surface::Surface;

/// Answers `403` to a write whose key lacks `surface`'s write scope.
pub async fn writes(surface: Surface, request: Request, next: Next) -> Response {
    if is_write(request.method()) {
        // Behind `authenticate` there is always a principal; without one, refuse.
        let Some(principal) = request.extensions().get::<Principal>() else {
            return ApiError::unauthorized(MISSING).into_response();
        };
        if let Err(refused) = auth::require(principal, surface.write_scope()) {
            return refused.into_response();
        }
    }
    next.run(request).await
}

/// Methods that change something; `GET`, `HEAD` and `OPTIONS` do not.
fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
