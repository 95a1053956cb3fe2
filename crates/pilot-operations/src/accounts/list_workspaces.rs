//! Every workspace, for an operator: the tenants this server holds.

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{WorkspaceList, WorkspaceView};

impl Operations {
    /// Every workspace, oldest first.
    #[tracing::instrument(name = "list_workspaces", skip_all, fields(operator = %operator))]
    pub async fn list_workspaces(&self, operator: &Operator) -> Result<WorkspaceList, OpError> {
        let workspaces = self.store().list_workspaces().await?;
        Ok(WorkspaceList {
            workspaces: workspaces.iter().map(WorkspaceView::of).collect(),
        })
    }
}
