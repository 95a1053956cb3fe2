//! `GET /v1/api/deliberations/{id}` and `…/result` (§4): `202` with the status-only
//! shape while queued or running, `200` with the full payload when terminal.
//! `?include=panel` adds every persona answer, review and the arbiter's work; any
//! other `include` is `422`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pilot_domain::{DeliberationId, Principal, Scope};
use serde::Deserialize;
use serde_json::Value;

use super::limits::{self, Kind};
use super::views;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct Include {
    include: Option<String>,
}

/// Serves both `…/{id}` and `…/{id}/result`: the document gives them one shape.
#[utoipa::path(
    get,
    path = "/deliberations/{id}",
    operation_id = "getDeliberation",
    tag = "Deliberations",
    summary = "Poll a deliberation",
    description = "Status only (`202`) while `queued` or `running`; the full payload (`200`) once \
                   `completed` or `failed`. 600 per minute per key.",
    params(
        ("id" = String, Path, pattern = "^del_[0-7][0-9A-HJKMNP-TV-Z]{25}$", description = "`del_` and 26 upper-case Crockford base32 characters, as the API returns it."),
        ("include" = Option<String>, Query, pattern = "^(panel)?(,(panel)?)*$",
         description = "`panel` adds every persona answer, review, revision and the arbiter's work."),
    ),
    responses(
        (status = 200, description = "Completed or failed: the full payload.", body = pilot_operations::views::TerminalView),
        (status = 202, description = "Queued or running: the status-only shape.", body = pilot_operations::views::PendingView),
        (status = 404, description = "`not_found`: no such deliberation in this workspace and environment."),
        (status = 422, description = "`validation_error`: `include` lists something other than `panel`."),
        (status = 429, description = "`rate_limited`: over 600 reads a minute for this key."),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(include): Query<Include>,
) -> Result<Response, ApiError> {
    let who = caller.require(Scope::DeliberationsRead)?.clone();
    let verdict = limits::count(&state, &who, Kind::Get).await?;
    let response = if verdict.allowed {
        read(&state, &who, &id, include)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    } else {
        StatusCode::TOO_MANY_REQUESTS.into_response()
    };
    Ok(limits::respond(&verdict, 60, response))
}

async fn read(
    state: &AppState,
    who: &Principal,
    id: &str,
    include: Include,
) -> Result<Response, ApiError> {
    let id = DeliberationId::parse(id).ok_or_else(super::not_found)?;
    let record = state
        .store
        .get_deliberation(who.workspace_id, who.environment, &id)
        .await?
        .ok_or_else(super::not_found)?;
    let (status, mut body) = if views::is_terminal(&record) {
        (StatusCode::OK, views::terminal(&record))
    } else {
        (StatusCode::ACCEPTED, views::pending(&record))
    };
    if wants_panel(include.include.as_deref())? {
        let entries = state.store.panel_entries(&id).await?;
        let panel: Vec<Value> = entries.iter().map(views::panel_entry).collect();
        if let Some(object) = body.as_object_mut() {
            object.insert("panel".into(), Value::Array(panel));
        }
    }
    Ok((status, Json(body)).into_response())
}

/// `?include=`: a comma-separated list of what to add, of which there is one
/// (`panel`); anything else is a `422` rather than silently nothing.
fn wants_panel(include: Option<&str>) -> Result<bool, ApiError> {
    let mut panel = false;
    for part in include
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        match part {
            "panel" => panel = true,
            _ => return Err(ApiError::validation("include may only list: panel")),
        }
    }
    Ok(panel)
}
