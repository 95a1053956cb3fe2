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
mod render;

use axum::Router;
use axum::routing::get;
use pilot_operations::Operations;

pub use headers::CONTENT_SECURITY_POLICY;

/// The dashboard's routes (no fallback, so it merges beside the APIs).
pub fn router(ops: Operations) -> Router {
    Router::new()
        .route("/assets/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn(headers::secure))
        .with_state(ops)
}
