//! Every user of every workspace, for an operator.

use super::UserView;
use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// Every membership, by user: one line per user and workspace.
    #[tracing::instrument(name = "list_users", skip_all, fields(operator = %operator))]
    pub async fn list_users(&self, operator: &Operator) -> Result<Vec<UserView>, OpError> {
        let members = self.store().list_members(None).await?;
        Ok(members.iter().map(UserView::of).collect())
    }
}
