//! Every endpoint, registered once: [`all`] gives each place's routes as
//! utoipa-axum `OpenApiRouter`s, whose axum half [`crate::router`] serves behind the
//! place's layers and whose OpenAPI half [`crate::openapi::document`] describes. A
//! route and its operation cannot drift apart: `routes!` takes both from the
//! handler and its `#[utoipa::path]`.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{
    AppState, deliberations, health, hooks, me, metrics, openapi, pilots, runs, secrets, webhooks,
};

/// Where the Pilots surface is mounted.
pub const PILOTS: &str = "/api/v1";
/// Where the Deliberations surface is mounted.
pub const DELIBERATIONS: &str = "/v1/api";
/// Where inbound triggers that authenticate by their URL are mounted.
pub const HOOKS: &str = "/hooks";

/// Each place's routes, paths relative to where it is mounted.
pub struct Routes {
    /// `/api/v1`: behind API-key authentication, errors `{"error": "..."}`.
    pub pilots: OpenApiRouter<AppState>,
    /// `/hooks`: the Pilots surface's layers but the key check.
    pub hooks: OpenApiRouter<AppState>,
    /// `/v1/api`: behind API-key authentication, errors `{"error": {...}}`.
    pub deliberations: OpenApiRouter<AppState>,
    /// Health, metrics and the documents, outside both surfaces.
    pub outside: OpenApiRouter<AppState>,
}

pub fn all() -> Routes {
    Routes {
        pilots: OpenApiRouter::new()
            .routes(routes!(me::pilots_me))
            .merge(pilots::routes())
            .merge(runs::routes())
            .merge(secrets::routes()),
        hooks: OpenApiRouter::new().routes(routes!(hooks::webhook, hooks::verify)),
        deliberations: OpenApiRouter::new()
            .routes(routes!(me::deliberations_me))
            .merge(deliberations::routes())
            .merge(webhooks::routes()),
        outside: OpenApiRouter::new()
            .routes(routes!(health::healthz))
            .routes(routes!(health::readyz))
            .routes(routes!(metrics::render))
            .merge(openapi::docs::routes()),
    }
}
