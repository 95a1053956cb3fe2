//! Workspace secrets: names and times only; no view ever holds a value.

use pilot_store::SecretRecord;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SecretWritten {
    /// `true` for a new secret, `false` when an existing one was replaced.
    pub created: bool,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretView {
    pub created_at: i64,
    pub name: String,
    pub updated_at: i64,
}

impl SecretView {
    pub fn of(secret: &SecretRecord) -> SecretView {
        SecretView {
            created_at: secret.created_at.as_secs(),
            name: secret.name.clone(),
            updated_at: secret.updated_at.as_secs(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SecretList {
    pub secrets: Vec<SecretView>,
}
