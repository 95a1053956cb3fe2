//! Using a reset link: the password is set, the user's other sessions end, and a new
//! one starts.

use pilot_domain::{UserToken, check_password};
use pilot_store::LinkPurpose;

use super::{LINK_GONE, SignedIn, password};
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// Sets the password of the reset link's user and signs them in.
    #[tracing::instrument(name = "complete_reset", skip_all)]
    pub async fn complete_reset(&self, token: &str, password: &str) -> Result<SignedIn, OpError> {
        check_password(password).map_err(OpError::validation)?;
        let gone = || OpError::not_found(LINK_GONE);
        let token = UserToken::parse(token).ok_or_else(gone)?;
        let hash = password::hash(password).await?;
        let link = self
            .store()
            .consume_user_link(&token.digest(), LinkPurpose::Reset, self.now())
            .await?
            .ok_or_else(gone)?;
        let user_id = link.user_id.ok_or_else(gone)?;
        let member = self
            .store()
            .memberships(user_id)
            .await?
            .into_iter()
            .find(|member| member.workspace_id == link.workspace_id)
            .filter(|member| member.user.disabled_at.is_none())
            .ok_or_else(gone)?;
        self.store().set_password(user_id, &hash).await?;
        let ended = self.store().delete_user_sessions(user_id, None).await?;
        tracing::info!(user = user_id.0, ended, "password set");
        self.start_session(
            user_id,
            &member.user.email,
            member.workspace_id,
            &member.workspace_name,
            member.role,
        )
        .await
    }
}
