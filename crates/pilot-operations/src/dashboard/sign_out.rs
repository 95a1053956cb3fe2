//! Signing out: this session, or every session of the signed-in user.

use pilot_domain::{UserId, UserToken};

use super::SessionView;
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// Ends the session whose cookie is `token` (an unknown one is already ended).
    #[tracing::instrument(name = "sign_out", skip_all)]
    pub async fn sign_out(&self, token: &str) -> Result<(), OpError> {
        if let Some(token) = UserToken::parse(token) {
            self.store().delete_session(&token.digest()).await?;
        }
        Ok(())
    }

    /// Ends every session of the session's user, this one included; how many.
    #[tracing::instrument(name = "sign_out_everywhere", skip_all, fields(user = session.user_id))]
    pub async fn sign_out_everywhere(&self, session: &SessionView) -> Result<u64, OpError> {
        let ended = self
            .store()
            .delete_user_sessions(UserId(session.user_id), None)
            .await?;
        tracing::info!(ended, "signed out everywhere");
        Ok(ended)
    }
}
