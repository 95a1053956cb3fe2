//! `Authorization: Bearer pk_…` → a [`Principal`]: the workspace, environment and
//! scopes every operation then works within.
//!
//! Every failure is `Unauthenticated` with a fixed message — missing, malformed,
//! unknown (or of an environment this server does not accept) or revoked. Keys are
//! looked up by SHA-256 digest; the key itself is never stored or logged.

use pilot_domain::{ApiKeyToken, Principal};
use pilot_store::KeyLookup;
use tracing::field::Empty;

use crate::error::OpError;
use crate::operations::{Operations, record_tenant};

pub const MISSING: &str = "Missing API key. Send it as 'Authorization: Bearer <key>'.";
pub const MALFORMED: &str = "Malformed API key.";
pub const UNKNOWN: &str = "Invalid API key.";
pub const REVOKED: &str = "This API key has been revoked.";

impl Operations {
    /// The principal an `Authorization` header's value (`None`: no header; `Err`: a
    /// value that is not text) authenticates.
    /// The span names the tenant once the key is known; never the key.
    #[tracing::instrument(
        name = "authenticate",
        skip_all,
        fields(workspace = Empty, environment = Empty)
    )]
    pub async fn authenticate(
        &self,
        header: Option<Result<&str, ()>>,
    ) -> Result<Principal, OpError> {
        let header = header.ok_or_else(|| OpError::unauthenticated(MISSING))?;
        let raw = header
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| OpError::unauthenticated(MALFORMED))?;
        let token = ApiKeyToken::parse(raw).map_err(|_| OpError::unauthenticated(MALFORMED))?;
        let found = self
            .store()
            .find_key_by_digest(&token.digest())
            .await?
            .ok_or_else(|| OpError::unauthenticated(UNKNOWN))?;
        record_tenant(found.key.workspace_id, found.key.environment);
        // A key of an environment this server does not serve is refused as if it
        // were unknown, the way the document's production server has no record of a
        // staging key (`[environments] accept`).
        if !self.policy().environments.accepts(found.key.environment) {
            return Err(OpError::unauthenticated(UNKNOWN));
        }
        if found.key.revoked_at.is_some() {
            return Err(OpError::unauthenticated(REVOKED));
        }
        let now = self.now();
        let stale = found
            .key
            .last_used_at
            .is_none_or(|at| now.0 - at.0 >= LAST_USED_EVERY_MS);
        if stale {
            // Shown as the key's last use; a failure to record it fails no request.
            if let Err(error) = self
                .store()
                .touch_api_key(found.key.id, now, LAST_USED_EVERY_MS)
                .await
            {
                tracing::warn!(%error, "recording a key's last use failed");
            }
        }
        Ok(principal(found))
    }
}

/// How often a key's last use is written: at most once a minute per key.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// The caller a stored key is, whether it was presented (authentication) or acts on
/// its own (a pilot run's authorising key). The caller has checked it is not
/// revoked.
pub(crate) fn principal(found: KeyLookup) -> Principal {
    Principal {
        workspace_id: found.key.workspace_id,
        workspace_name: found.workspace_name,
        environment: found.key.environment,
        key_id: found.key.id,
        key_prefix: found.key.prefix,
        scopes: found.key.scopes,
    }
}
