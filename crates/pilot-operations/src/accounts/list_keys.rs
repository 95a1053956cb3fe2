//! A workspace's keys, for an operator: prefixes, names, scopes and states. Keys
//! themselves were never stored, so none can be listed.

use pilot_domain::{Environment, WorkspaceId};

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{KeyList, KeyView};

impl Operations {
    /// The keys of `workspace`, of one environment or both, oldest first, revoked ones
    /// included.
    #[tracing::instrument(
        name = "list_keys",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = environment.map(Environment::as_str))
    )]
    pub async fn list_keys(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Option<Environment>,
    ) -> Result<KeyList, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        self.list_keys_in(workspace.id, &workspace.name, environment)
            .await
    }

    /// A found workspace's API keys (never a user's hidden dashboard keys): the
    /// operator's listing and an owner's, once.
    pub(crate) async fn list_keys_in(
        &self,
        workspace_id: WorkspaceId,
        workspace_name: &str,
        environment: Option<Environment>,
    ) -> Result<KeyList, OpError> {
        let keys = self
            .store()
            .list_api_keys(workspace_id, environment)
            .await?;
        Ok(KeyList {
            keys: keys.iter().map(KeyView::of).collect(),
            workspace: workspace_name.to_owned(),
        })
    }
}
