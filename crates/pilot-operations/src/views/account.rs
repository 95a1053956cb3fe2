//! The caller's own account: which key it is, and its balance.

use pilot_domain::{Credits, Principal};
use serde::Serialize;
use utoipa::ToSchema;

/// The key a caller presented.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct KeyInfo {
    pub id: i64,
    /// The key's first characters, as listed in the dashboard and the CLI.
    pub prefix: String,
    pub scopes: Vec<String>,
}

/// `GET /api/v1/me` and `GET /v1/api/me`: what the presented key resolves to.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MeView {
    /// `live` or `test`.
    pub environment: String,
    pub key: KeyInfo,
    pub workspace: String,
}

impl MeView {
    pub fn of(principal: &Principal) -> MeView {
        MeView {
            environment: principal.environment.as_str().to_owned(),
            key: KeyInfo {
                id: principal.key_id.0,
                prefix: principal.key_prefix.clone(),
                scopes: principal
                    .scopes
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect(),
            },
            workspace: principal.workspace_name.clone(),
        }
    }
}

/// `GET /v1/api/balance`: the caller's environment's credits.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BalanceView {
    #[schema(value_type = f64)]
    pub balance: Credits,
    pub environment: String,
}
