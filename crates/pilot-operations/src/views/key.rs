//! API keys as operators see them: prefixes, scopes and states — never a key, except
//! in [`IssuedKey`], the one answer that shows a new key and its webhook secret.

use pilot_domain::{ApiKeyToken, UnixMillis, WebhookSecret};
use pilot_store::ApiKeyRecord;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// A stored key: what identifies it to people, and what it may do.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct KeyView {
    /// Unix milliseconds.
    #[schema(value_type = i64)]
    pub created_at: UnixMillis,
    /// `live` or `test`: the data the key reads and writes.
    pub environment: String,
    pub id: i64,
    /// A label for people.
    pub name: String,
    /// The key's first 12 characters (`pk_live_Ab3x`), kept in clear to recognise it.
    /// When it last authenticated a request (Unix milliseconds, to the minute), or
    /// `null` if never.
    #[schema(value_type = Option<i64>)]
    pub last_used_at: Option<UnixMillis>,
    pub prefix: String,
    /// When it was revoked (Unix milliseconds), or `null` while it is active.
    #[schema(value_type = Option<i64>)]
    pub revoked_at: Option<UnixMillis>,
    pub scopes: Vec<String>,
}

impl KeyView {
    pub fn of(key: &ApiKeyRecord) -> KeyView {
        KeyView {
            created_at: key.created_at,
            environment: key.environment.as_str().to_owned(),
            id: key.id.0,
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            revoked_at: key.revoked_at,
            last_used_at: key.last_used_at,
            scopes: key.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        }
    }
}

/// A workspace's keys, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
    pub workspace: String,
}

/// A key just issued, with the key and its webhook signing secret in clear: shown
/// once, since only the key's digest and the secret sealed are stored. `Debug` shows
/// neither (the domain types redact themselves).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct IssuedKey {
    pub key: KeyView,
    /// The API key, `pk_live_…` or `pk_test_…`.
    #[serde(serialize_with = "expose_token")]
    #[schema(value_type = String)]
    pub token: ApiKeyToken,
    /// `whsec_…`: verifies the signatures of this key's webhook deliveries.
    #[serde(serialize_with = "expose_secret")]
    #[schema(value_type = String)]
    pub webhook_secret: WebhookSecret,
    pub workspace: String,
}

/// A key revoked: it authenticates nothing from now on.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct KeyRevoked {
    pub id: i64,
    /// Unix milliseconds.
    #[schema(value_type = i64)]
    pub revoked_at: UnixMillis,
    pub workspace: String,
}

fn expose_token<S: Serializer>(token: &ApiKeyToken, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(token.expose())
}

pub(crate) fn expose_secret<S: Serializer>(
    secret: &WebhookSecret,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}
