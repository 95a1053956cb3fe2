//! Workspace secrets: `PUT /api/v1/secrets/{name}` (`201` new, `200` replaced),
//! `GET /api/v1/secrets` (names only), `DELETE /api/v1/secrets/{name}` (`204`).
//! Write-only: no endpoint returns a value.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pilot_operations::secrets::PutSecret;
use pilot_operations::views::{SecretList, SecretWritten};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::input::JsonInput;

/// The routes with their OpenAPI operations (`#[utoipa::path]` on each handler).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(put_secret, delete))
}

#[utoipa::path(
    put,
    path = "/secrets/{name}",
    operation_id = "putSecret",
    tag = "Secrets",
    summary = "Set a secret",
    description = "Sealed at rest and never returned; runs read it as `{{ secrets.NAME }}` \
                   where a step sends it out. At most 100 per workspace and environment.",
    params(("name" = String, Path, pattern = "^[A-Z][A-Z0-9_]{0,63}$", description = "1 to 64 characters of A-Z, 0-9 and `_`, starting with a letter.")),
    request_body = PutSecret,
    responses(
        (status = 201, description = "Created.", body = SecretWritten),
        (status = 200, description = "Replaced.", body = SecretWritten),
        (status = 400, description = "The body is not valid JSON."),
        (status = 415, description = "The body is not sent as JSON."),
        (status = 422, description = "A bad name or value, or 100 secrets held already."),
    )
)]
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

#[utoipa::path(
    get,
    path = "/secrets",
    operation_id = "listSecrets",
    tag = "Secrets",
    summary = "List secret names (values are never returned)",
    responses((status = 200, description = "Names and times.", body = SecretList))
)]
async fn list(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<SecretList>, ApiError> {
    Ok(Json(state.ops.list_secrets(&who).await?))
}

#[utoipa::path(
    delete,
    path = "/secrets/{name}",
    operation_id = "deleteSecret",
    tag = "Secrets",
    summary = "Delete a secret",
    params(("name" = String, Path, pattern = "^[A-Z][A-Z0-9_]{0,63}$", description = "1 to 64 characters of A-Z, 0-9 and `_`, starting with a letter.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No secret of that name in this workspace and environment."),
    )
)]
async fn delete(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.ops.delete_secret(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
