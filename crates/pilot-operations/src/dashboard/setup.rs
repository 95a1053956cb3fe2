//! The first owner: a store without users offers a one-time setup link (printed by
//! `pilot serve`), and whoever opens it first becomes the `default` workspace's
//! owner. Two setups at once make one owner: the store consumes the link and checks
//! for users in one transaction no other interleaves with.

use pilot_domain::{Email, Role, check_password};
use pilot_store::LinkPurpose;

use super::{LINK_GONE, LinkFor, SignedIn, UserLink, password};
use crate::accounts::{DEFAULT_WORKSPACE, Operator};
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// A fresh setup link for the `default` workspace when the store has no users;
    /// `None` once anyone has an account (or before the workspace exists).
    #[tracing::instrument(name = "setup_link", skip_all, fields(operator = %operator))]
    pub async fn setup_link(&self, operator: &Operator) -> Result<Option<UserLink>, OpError> {
        if self.store().has_users().await? {
            return Ok(None);
        }
        let Some(workspace) = self.store().find_workspace(DEFAULT_WORKSPACE).await? else {
            return Ok(None);
        };
        let link = self
            .issue_link(LinkFor {
                purpose: LinkPurpose::Setup,
                user_id: None,
                workspace_id: workspace.id,
                role: Role::Owner,
            })
            .await?;
        tracing::info!("setup link issued");
        Ok(Some(link))
    }

    /// Uses a setup link: `email` becomes the owner of the link's workspace with
    /// `password`, and is signed in. A used, expired or unknown link, or one opened
    /// after someone else's setup, is refused alike.
    #[tracing::instrument(name = "complete_setup", skip_all)]
    pub async fn complete_setup(
        &self,
        token: &str,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, OpError> {
        let email = Email::parse(email).map_err(OpError::validation)?;
        check_password(password).map_err(OpError::validation)?;
        let token =
            pilot_domain::UserToken::parse(token).ok_or_else(|| OpError::not_found(LINK_GONE))?;
        let hash = password::hash(password).await?;
        let owner = self
            .store()
            .create_first_owner(&token.digest(), email.as_str(), &hash, self.now())
            .await?
            .ok_or_else(|| OpError::not_found(LINK_GONE))?;
        tracing::info!(user = owner.user.id.0, "first owner created");
        self.start_session(
            owner.user.id,
            &owner.user.email,
            owner.workspace_id,
            &owner.workspace_name,
            owner.role,
        )
        .await
    }
}
