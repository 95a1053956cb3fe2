//! Workspace secrets: write-only. Values are sealed under the master key before they
//! reach the store, and no operation returns one; runs of the same workspace and
//! environment read them as `{{ secrets.NAME }}` in the fields that send them out.

use pilot_domain::secret::{MAX_SECRET_BYTES, MAX_SECRETS};
use pilot_domain::{Principal, Scope, SecretName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{SecretList, SecretView, SecretWritten};

/// `PUT /api/v1/secrets/{name}`'s body.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    /// 1 to 8,192 bytes; sealed at rest, never returned.
    #[schema(min_length = 1, max_length = 8192)]
    pub value: String,
}

impl Operations {
    /// Sets a secret, creating or replacing it.
    #[tracing::instrument(
        name = "put_secret",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn put_secret(
        &self,
        who: &Principal,
        name: &str,
        request: Result<PutSecret, OpError>,
    ) -> Result<SecretWritten, OpError> {
        authorize::require(who, Scope::PilotsWrite)?;
        let request = request?;
        let name = SecretName::parse(name).map_err(OpError::validation)?;
        if request.value.is_empty() || request.value.len() > MAX_SECRET_BYTES {
            return Err(OpError::validation(format!(
                "value must be 1 to {MAX_SECRET_BYTES} bytes"
            )));
        }
        // A new name past the limit is refused (checked before the write: concurrent
        // creations may pass it by a few, never without bound).
        let held = self
            .store()
            .list_secrets(who.workspace_id, who.environment)
            .await?;
        if held.len() >= MAX_SECRETS && !held.iter().any(|s| s.name == name.as_str()) {
            return Err(OpError::validation(format!(
                "a workspace may hold at most {MAX_SECRETS} secrets in each environment; \
                 delete one first"
            )));
        }
        let sealed = self.master_key().seal(&request.value);
        let created = self
            .store()
            .put_secret(
                who.workspace_id,
                who.environment,
                name.as_str(),
                &sealed,
                self.now(),
            )
            .await?;
        Ok(SecretWritten {
            created,
            name: name.as_str().to_owned(),
        })
    }

    /// The secrets' names and times, never their values.
    #[tracing::instrument(
        name = "list_secrets",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_secrets(&self, who: &Principal) -> Result<SecretList, OpError> {
        authorize::require(who, Scope::PilotsRead)?;
        let secrets = self
            .store()
            .list_secrets(who.workspace_id, who.environment)
            .await?;
        Ok(SecretList {
            secrets: secrets.iter().map(SecretView::of).collect(),
        })
    }

    #[tracing::instrument(
        name = "delete_secret",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn delete_secret(&self, who: &Principal, name: &str) -> Result<(), OpError> {
        authorize::require(who, Scope::PilotsWrite)?;
        let deleted = self
            .store()
            .delete_secret(who.workspace_id, who.environment, name)
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(OpError::not_found("Secret not found."))
        }
    }
}
