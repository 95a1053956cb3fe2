//! Adding a person to a workspace: a user without a password and a reset link for
//! them to set one. The operator's `pilot users create` and an owner's invitation,
//! through one body.

use pilot_domain::{Email, Role, UserId, WorkspaceId};
use pilot_store::{LinkPurpose, StoreError};

use super::{LinkFor, UserLink};
use crate::accounts::Operator;
use crate::error::{ErrorCode, OpError};
use crate::operations::Operations;

impl Operations {
    /// Creates `email` in `workspace` as `role`; the answer is the link that sets
    /// their first password, shown once.
    #[tracing::instrument(
        name = "create_user",
        skip_all,
        fields(operator = %operator, workspace = %workspace, role = %role)
    )]
    pub async fn create_user(
        &self,
        operator: &Operator,
        email: &str,
        workspace: &str,
        role: Role,
    ) -> Result<UserLink, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        self.add_user(workspace.id, email, role).await
    }

    /// The one body of `create_user` and `owner_invite`.
    pub(super) async fn add_user(
        &self,
        workspace_id: WorkspaceId,
        email: &str,
        role: Role,
    ) -> Result<UserLink, OpError> {
        let email = Email::parse(email).map_err(OpError::validation)?;
        let user = match self
            .store()
            .create_user(email.as_str(), workspace_id, role, self.now())
            .await
        {
            Err(StoreError::Conflict(_)) => {
                return Err(OpError::conflict(
                    ErrorCode::Conflict,
                    format!("a user with email {email} exists already"),
                ));
            }
            other => other?,
        };
        tracing::info!(user = user.id.0, "user created");
        self.reset_link_for(user.id, workspace_id, role).await
    }

    pub(super) async fn reset_link_for(
        &self,
        user_id: UserId,
        workspace_id: WorkspaceId,
        role: Role,
    ) -> Result<UserLink, OpError> {
        self.issue_link(LinkFor {
            purpose: LinkPurpose::Reset,
            user_id: Some(user_id),
            workspace_id,
            role,
        })
        .await
    }
}
