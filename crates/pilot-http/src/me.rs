//! `GET /api/v1/me` and `GET /v1/api/me`: which workspace, environment and scopes the
//! presented key resolves to. A Pilot addition to both documents, for checking a key.

use axum::Json;
use serde_json::{Value, json};

use crate::auth::Caller;

pub async fn me(Caller(principal): Caller) -> Json<Value> {
    let scopes: Vec<&str> = principal.scopes.iter().map(|s| s.as_str()).collect();
    Json(json!({
        "workspace": principal.workspace_name,
        "environment": principal.environment.as_str(),
        "key": { "id": principal.key_id.0, "prefix": principal.key_prefix, "scopes": scopes },
    }))
}
