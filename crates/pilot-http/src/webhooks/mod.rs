//! The Deliberations surface's webhook management (issue 12): the deliveries of
//! events to clients' URLs and the endpoints they go to. One handler per file, each
//! extracting the request, calling its operation in `pilot_operations::webhooks` and
//! rendering the answer; reads need `deliberations:read`, replay, recover and enable
//! `deliberations:write`.

mod enable_endpoint;
mod get_delivery;
mod list_deliveries;
mod list_endpoints;
mod recover_endpoint;
mod replay_delivery;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// A delivery id in a path, as the API writes it.
const DELIVERY_ID: &str = "`dlv_` and 26 upper-case Crockford base32 characters, as the API \
                           returns it.";

/// An endpoint id in a path, as the API writes it.
const ENDPOINT_ID: &str = "`wep_` and 26 upper-case Crockford base32 characters, as the API \
                           returns it.";

/// The routes with their OpenAPI operations (`#[utoipa::path]` on each handler).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries::list_deliveries))
        .routes(routes!(get_delivery::get_delivery))
        .routes(routes!(replay_delivery::replay_delivery))
        .routes(routes!(list_endpoints::list_endpoints))
        .routes(routes!(recover_endpoint::recover_endpoint))
        .routes(routes!(enable_endpoint::enable_endpoint))
}
