//! `GET /api/v1/pilots/{id}`: one pilot with its steps and trigger settings.

use axum::Json;
use axum::extract::{Path, State};
use pilot_domain::Scope;
use serde_json::Value;

use super::{find_pilot, views};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::PilotsRead)?;
    let pilot = find_pilot(&state, who, &id).await?;
    Ok(Json(views::detail(
        &pilot,
        &state.master_key,
        &state.public_url,
        &state.pilots.mail_domain,
    )))
}
