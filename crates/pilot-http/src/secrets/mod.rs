//! Workspace secrets: `PUT /api/v1/secrets/{name}` (`201` new, `200` replaced),
//! `GET /api/v1/secrets` (names only), `DELETE /api/v1/secrets/{name}` (`204`).
//! Write-only: no endpoint returns a value.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use pilot_operations::secrets::PutSecret;
use pilot_operations::views::{SecretList, SecretWritten};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::JsonInput;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/secrets", get(list))
        .route("/secrets/{name}", put(put_secret).delete(delete))
}

async fn put_secret(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    body: JsonInput<PutSecret>,
) -> Result<(StatusCode, Json<SecretWritten>), ApiError> {
    let written = state.ops.put_secret(&who, &name, body.input).await?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(written)))
}

async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<SecretList>, ApiError> {
    Ok(Json(state.ops.list_secrets(&who).await?))
}

async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.ops.delete_secret(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
