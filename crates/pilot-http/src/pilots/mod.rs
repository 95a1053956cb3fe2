//! The Pilots surface's pilot endpoints (seed 000), one handler per file. Each
//! extracts, calls its operation in `pilot_operations` and renders the answer.

mod create;
mod delete;
mod get;
mod list;
mod run;
mod runs;
mod update;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pilots", get(list::list).post(create::create))
        .route(
            "/pilots/{id}",
            get(get::get).patch(update::update).delete(delete::delete),
        )
        .route("/pilots/{id}/run", post(run::run))
        .route("/pilots/{id}/runs", get(runs::runs))
}
