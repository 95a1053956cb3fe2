//! Revoking a key: from then on it authenticates nothing (every request with it is
//! `401`), and runs that a `deliberate` step would submit under it stop submitting.
//! The key's row stays, so listings show it revoked.

use pilot_domain::{ApiKeyId, WorkspaceId};

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::KeyRevoked;

impl Operations {
    /// Revokes the key `id` of `workspace`. Not found when the workspace has no such
    /// key, or it is revoked already.
    #[tracing::instrument(
        name = "revoke_key",
        skip_all,
        fields(operator = %operator, workspace = %workspace, key = id.0)
    )]
    pub async fn revoke_key(
        &self,
        operator: &Operator,
        workspace: &str,
        id: ApiKeyId,
    ) -> Result<KeyRevoked, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        self.revoke_key_in(workspace.id, &workspace.name, id).await
    }

    /// Revoking a key of a found workspace: the operator's use case and an owner's,
    /// once.
    pub(crate) async fn revoke_key_in(
        &self,
        workspace_id: WorkspaceId,
        workspace_name: &str,
        id: ApiKeyId,
    ) -> Result<KeyRevoked, OpError> {
        let now = self.now();
        if !self.store().revoke_api_key(workspace_id, id, now).await? {
            return Err(OpError::not_found(format!(
                "workspace {workspace_name} has no active key with id {id}"
            )));
        }
        tracing::info!("key revoked");
        Ok(KeyRevoked {
            id: id.0,
            revoked_at: now,
            workspace: workspace_name.to_owned(),
        })
    }
}
