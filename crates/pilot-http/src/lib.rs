//! Pilot's HTTP surfaces.
//!
//! Two API surfaces share one server and keep their own conventions (DESIGN §2):
//!
//! * the **Pilots** surface under `/api/v1`, whose errors read `{"error": "..."}`;
//! * the **Deliberations** surface under `/v1/api`, whose errors read
//!   `{"error": {"code", "message", "request_id"}}`.
//!
//! Handlers return [`ApiError`] for every failure; [`surface::render_errors`] turns
//! any error response — ours, an extractor's rejection, a 404 or 405 from routing, a
//! caught panic — into the surface's shape at the boundary, so no other shape can
//! escape. Every response carries `X-Request-Id`.
//!
//! Layering, outermost first: request id → metrics → per surface: error rendering →
//! panic catching → head limits → singular headers → request timeout → body timeout
//! → body limit → authentication → authorisation of writes → routes. Handlers
//! extract the request, call its operation in `pilot_operations` — which checks its
//! own scope, idempotency key, rate limit, credits and guardrails — and render the
//! answer; none reaches the store.
//! Paths outside both surfaces get the same checks up to the body timeout, rendered
//! in the plain shape. [`server::serve`] runs the router under hyper with the
//! connection-level limits (connection bound, header-read timeout).

pub mod auth;
pub mod authorize;
mod config;
mod deliberations;
pub mod error;
pub mod extract;
pub mod head_limits;
mod health;
mod hooks;
pub mod input;
mod me;
pub mod metrics;
pub mod openapi;
mod pilots;
pub mod reply;
pub mod request_id;
mod routes;
mod runs;
mod secrets;
pub mod server;
mod state;
pub mod stream_slots;
pub mod strict_headers;
pub mod surface;
pub mod timeouts;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

pub use config::HttpConfig;
pub use error::ApiError;
pub use state::AppState;
pub use surface::Surface;

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Install the recorder before the first request, so no count is lost.
    metrics::handle();
    let routes::Routes {
        pilots,
        hooks,
        deliberations,
        outside,
    } = routes::all();
    let policy = state.ops.policy();
    let published =
        openapi::docs::Published::new(&policy.public_url, policy.environments.staging_url());
    let outside = Router::from(outside)
        .layer(Extension(published))
        .fallback(surface::not_found);

    guarded(outside, &state.config)
        .nest(
            routes::PILOTS,
            api_surface(pilots.into(), Surface::Pilots, &state),
        )
        .nest(
            routes::HOOKS,
            public_surface(hooks.into(), Surface::Pilots, &state),
        )
        .nest(
            routes::DELIBERATIONS,
            api_surface(deliberations.into(), Surface::Deliberations, &state),
        )
        .layer(axum::middleware::from_fn(surface::render_plain_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Wraps one surface's routes in its layers: authentication, body limits, panic
/// catching, and error rendering in the surface's shape. Public so tests can mount
/// probe routes behind exactly the production layers.
pub fn api_surface(
    routes: Router<AppState>,
    surface: Surface,
    state: &AppState,
) -> Router<AppState> {
    // Outermost last: authentication runs first, then the surface's write scope is
    // checked. Idempotency keys are the operations' own (`pilot_operations`), taken
    // after their scope check: no layer here looks one up.
    let routes = routes
        .fallback(surface::not_found)
        .layer(axum::middleware::from_fn(move |request, next| {
            authorize::writes(surface, request, next)
        }))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    surface_layers(routes, surface, state)
}

/// One surface's routes that authenticate by other means (a webhook trigger's secret
/// URL): the same layers as [`api_surface`] but the API-key check.
pub fn public_surface(
    routes: Router<AppState>,
    surface: Surface,
    state: &AppState,
) -> Router<AppState> {
    surface_layers(routes.fallback(surface::not_found), surface, state)
}

fn surface_layers(
    routes: Router<AppState>,
    surface: Surface,
    state: &AppState,
) -> Router<AppState> {
    let limit = state.config.body_limit_bytes;
    let routes = routes
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit));
    guarded(routes, &state.config)
        .layer(CatchPanicLayer::custom(surface::panic_response))
        .layer(axum::middleware::from_fn(move |request, next| {
            surface::render_errors(surface, request, next)
        }))
}

/// What every request meets before anything reads it, on the surfaces and off
/// them, outermost first: the head's limits (`414`/`431`), singular headers
/// (`400`), the whole-request timeout (`503`) and the body's (`408`). Each answers
/// an [`ApiError`], so the renderer around it gives the answer its shape.
fn guarded(routes: Router<AppState>, config: &HttpConfig) -> Router<AppState> {
    let head = head_limits::HeadLimits::from(config);
    let (request_timeout, body_timeout) = (config.request_timeout(), config.body_read_timeout());
    routes
        .layer(axum::middleware::from_fn(move |request, next| {
            timeouts::body(body_timeout, request, next)
        }))
        .layer(axum::middleware::from_fn(move |request, next| {
            timeouts::request(request_timeout, request, next)
        }))
        .layer(axum::middleware::from_fn(strict_headers::once))
        .layer(axum::middleware::from_fn(move |request, next| {
            head_limits::check(head, request, next)
        }))
}
