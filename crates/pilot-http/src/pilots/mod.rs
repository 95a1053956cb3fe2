//! The Pilots surface's pilot endpoints (seed 000), one handler per file.

mod body;
mod create;
mod delete;
mod get;
mod list;
pub(crate) mod run;
mod runs;
mod steps_scope;
mod update;
pub(crate) mod views;

use axum::Router;
use axum::routing::{get, post};
use pilot_domain::{PilotId, Principal};
use pilot_store::PilotRecord;

pub use body::token_digest;

use crate::AppState;
use crate::error::ApiError;

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

/// A path id: a plain decimal number (`crate::decimal`), or nothing (answered `404`,
/// as an unknown id is).
pub(crate) use crate::decimal::parse_id;

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("Pilot not found.")
}

/// The caller's pilot with this id; another tenant's is `404` like an absent one.
pub(crate) async fn find_pilot(
    state: &AppState,
    who: &Principal,
    raw_id: &str,
) -> Result<PilotRecord, ApiError> {
    let id = parse_id(raw_id).ok_or_else(not_found)?;
    state
        .store
        .get_pilot(who.workspace_id, who.environment, PilotId(id))
        .await?
        .ok_or_else(not_found)
}
