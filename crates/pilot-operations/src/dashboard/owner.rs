//! What a workspace's owner does in the dashboard: its API keys and its members. Each
//! refuses a member with `403`, then runs the operator's use case's body on the
//! session's own workspace.

use pilot_domain::{ApiKeyId, Role, WorkspaceId};

use super::{SessionView, UserLink, UserView, require_owner};
use crate::accounts::NewKey;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{IssuedKey, KeyList, KeyRevoked};

impl Operations {
    /// Issues an API key in the session's workspace (key and webhook secret shown
    /// once).
    #[tracing::instrument(name = "owner_issue_key", skip_all, fields(workspace = session.workspace_id))]
    pub async fn owner_issue_key(
        &self,
        session: &SessionView,
        request: NewKey,
    ) -> Result<IssuedKey, OpError> {
        require_owner(session, "issue API keys")?;
        self.issue_key_in(
            WorkspaceId(session.workspace_id),
            &session.workspace_name,
            request,
        )
        .await
    }

    /// The session's workspace's API keys (never anyone's hidden dashboard keys).
    #[tracing::instrument(name = "owner_list_keys", skip_all, fields(workspace = session.workspace_id))]
    pub async fn owner_list_keys(&self, session: &SessionView) -> Result<KeyList, OpError> {
        require_owner(session, "list API keys")?;
        self.list_keys_in(
            WorkspaceId(session.workspace_id),
            &session.workspace_name,
            None,
        )
        .await
    }

    /// Revokes an API key of the session's workspace.
    #[tracing::instrument(name = "owner_revoke_key", skip_all, fields(workspace = session.workspace_id, key = key_id))]
    pub async fn owner_revoke_key(
        &self,
        session: &SessionView,
        key_id: i64,
    ) -> Result<KeyRevoked, OpError> {
        require_owner(session, "revoke API keys")?;
        self.revoke_key_in(
            WorkspaceId(session.workspace_id),
            &session.workspace_name,
            ApiKeyId(key_id),
        )
        .await
    }

    /// Invites `email` to the session's workspace as `role`: the link that sets
    /// their password, shown once, for the owner to pass on.
    #[tracing::instrument(name = "owner_invite", skip_all, fields(workspace = session.workspace_id, role = %role))]
    pub async fn owner_invite(
        &self,
        session: &SessionView,
        email: &str,
        role: Role,
    ) -> Result<UserLink, OpError> {
        require_owner(session, "invite members")?;
        self.add_user(WorkspaceId(session.workspace_id), email, role)
            .await
    }

    /// The session's workspace's members.
    #[tracing::instrument(name = "owner_list_members", skip_all, fields(workspace = session.workspace_id))]
    pub async fn owner_list_members(
        &self,
        session: &SessionView,
    ) -> Result<Vec<UserView>, OpError> {
        require_owner(session, "list members")?;
        let members = self
            .store()
            .list_members(Some(WorkspaceId(session.workspace_id)))
            .await?;
        Ok(members.iter().map(UserView::of).collect())
    }

    /// Disables a member of the session's workspace: they can no longer sign in,
    /// their sessions end and their hidden keys are revoked. An owner cannot
    /// disable themself (another owner, or an operator's `pilot users disable`, can).
    #[tracing::instrument(name = "owner_disable_member", skip_all, fields(workspace = session.workspace_id))]
    pub async fn owner_disable_member(
        &self,
        session: &SessionView,
        user_id: i64,
    ) -> Result<(), OpError> {
        require_owner(session, "disable members")?;
        if user_id == session.user_id {
            return Err(OpError::validation(
                "You cannot disable yourself; another owner or an operator can.",
            ));
        }
        let members = self
            .store()
            .list_members(Some(WorkspaceId(session.workspace_id)))
            .await?;
        let member = members
            .iter()
            .find(|m| m.user.id.0 == user_id)
            .ok_or_else(|| OpError::not_found("No such member in this workspace."))?;
        self.store()
            .disable_user(member.user.id, self.now())
            .await?;
        tracing::info!(user = user_id, "member disabled by an owner");
        Ok(())
    }
}
