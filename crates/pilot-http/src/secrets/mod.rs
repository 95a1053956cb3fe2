//! Workspace secrets: `PUT /api/v1/secrets/{name}`, `GET /api/v1/secrets` (names
//! only), `DELETE /api/v1/secrets/{name}`. Write-only: no endpoint returns a value.
//! Values are sealed under the master key before they reach the store, and runs of
//! the same workspace and environment read them as `{{ secrets.NAME }}`.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use pilot_domain::secret::{MAX_SECRET_BYTES, MAX_SECRETS};
use pilot_domain::{Scope, SecretName};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json as JsonBody;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/secrets", get(list))
        .route("/secrets/{name}", put(put_secret).delete(delete))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    value: String,
}

async fn put_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<PutSecret>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let name = SecretName::parse(&name).map_err(ApiError::validation)?;
    if body.value.is_empty() || body.value.len() > MAX_SECRET_BYTES {
        return Err(ApiError::validation(format!(
            "value must be 1 to {MAX_SECRET_BYTES} bytes"
        )));
    }
    // A new name past the limit is refused (checked before the write: concurrent
    // creations may pass it by a few, never without bound).
    let held = state
        .store
        .list_secrets(who.workspace_id, who.environment)
        .await?;
    if held.len() >= MAX_SECRETS && !held.iter().any(|s| s.name == name.as_str()) {
        return Err(ApiError::validation(format!(
            "a workspace may hold at most {MAX_SECRETS} secrets in each environment; \
             delete one first"
        )));
    }
    let sealed = state.master_key.seal(&body.value);
    let created = state
        .store
        .put_secret(
            who.workspace_id,
            who.environment,
            name.as_str(),
            &sealed,
            state.clock.now(),
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "name": name.as_str(), "created": created })),
    ))
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let who = caller.require(Scope::PilotsRead)?;
    let secrets = state
        .store
        .list_secrets(who.workspace_id, who.environment)
        .await?;
    let secrets: Vec<Value> = secrets
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "createdAt": s.created_at.as_secs(),
                "updatedAt": s.updated_at.as_secs(),
            })
        })
        .collect();
    Ok(Json(json!({ "secrets": secrets })))
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = caller.require(Scope::PilotsWrite)?;
    let deleted = state
        .store
        .delete_secret(who.workspace_id, who.environment, &name)
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("Secret not found."))
    }
}
