//! The Pilots surface's pilot endpoints (seed 000), one handler per file. Each
//! extracts, calls its operation in `pilot_operations` and renders the answer.

mod create;
mod delete;
mod get;
mod list;
mod run;
mod runs;
mod update;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The routes with their OpenAPI operations (`#[utoipa::path]` on each handler).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list, create::create))
        .routes(routes!(get::get, update::update, delete::delete))
        .routes(routes!(run::run))
        .routes(routes!(runs::runs))
}
