//! Pilot's web dashboard: server-rendered pages, served by `pilot serve` under `/`
//! beside the APIs, on the operations layer — a page handler extracts (the session
//! cookie, the form), calls one operation as the signed-in person's `Principal`, and
//! renders its typed view with a template. It has no logic of its own.
//!
//! Why server-rendered: the operations already produce typed views, minijinja is the
//! template engine the step engine uses, and HTML rendered on the server works
//! without a Node build, at any width, with a strict Content-Security-Policy (no
//! inline script) and with text escaped in one place. The one script,
//! `assets/app.js`, only enhances: copy buttons, confirmations and live regions fed
//! by server-sent events.

mod assets;
mod headers;
mod pages;
mod render;
mod session;

use axum::Router;
use axum::routing::{get, post};
use pilot_operations::Operations;

pub use headers::CONTENT_SECURITY_POLICY;

use pages::{auth, deliberations, deliveries, keys, overview, pilots, runs, secrets, usage};

/// The dashboard's routes (no fallback, so it merges beside the APIs).
pub fn router(ops: Operations) -> Router {
    Router::new()
        .route("/assets/{name}", get(assets::serve))
        .route("/", get(overview::show))
        .route("/signin", get(auth::sign_in_page).post(auth::sign_in))
        .route("/setup", get(auth::setup_page).post(auth::setup))
        .route("/reset", get(auth::reset_page).post(auth::reset))
        .route("/signout", post(auth::sign_out))
        .route("/pilots", get(pilots::list).post(pilots::create))
        .route("/pilots/new", get(pilots::new))
        .route("/pilots/draft", post(pilots::draft))
        .route("/pilots/{id}", get(pilots::show))
        .route("/pilots/{id}/steps", post(pilots::save_steps))
        .route("/pilots/{id}/status", post(pilots::set_status))
        .route("/pilots/{id}/rotate", post(pilots::rotate))
        .route("/pilots/{id}/run", post(pilots::run))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::show))
        .route("/runs/{id}/live", get(runs::live))
        .route("/runs/{id}/retry", post(runs::retry))
        .route(
            "/deliberations",
            get(deliberations::list).post(deliberations::submit),
        )
        .route("/deliberations/{id}", get(deliberations::show))
        .route("/deliberations/{id}/live", get(deliberations::live))
        .route(
            "/deliberations/{id}/checkpoints/{checkpoint}",
            post(deliberations::respond),
        )
        .route("/deliveries", get(deliveries::list))
        .route("/deliveries/{id}", get(deliveries::show))
        .route("/deliveries/{id}/replay", post(deliveries::replay))
        .route("/endpoints/{id}/recover", post(deliveries::recover))
        .route("/endpoints/{id}/enable", post(deliveries::enable))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}/rotate", post(keys::rotate))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route("/members", post(keys::invite))
        .route("/members/{id}/disable", post(keys::disable_member))
        .route("/secrets", get(secrets::list).post(secrets::put))
        .route("/secrets/{name}/delete", post(secrets::delete))
        .route("/usage", get(usage::show))
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(ops)
}
