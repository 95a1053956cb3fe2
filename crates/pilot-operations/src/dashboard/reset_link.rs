//! A fresh password link for a user who lost theirs, from an operator.

use pilot_domain::Email;

use super::UserLink;
use super::disable_user::unknown_user;
use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// A reset link for the user with `email`, in their first workspace.
    #[tracing::instrument(name = "reset_link", skip_all, fields(operator = %operator))]
    pub async fn reset_link(&self, operator: &Operator, email: &str) -> Result<UserLink, OpError> {
        let email = Email::parse(email).map_err(OpError::validation)?;
        let user = self
            .store()
            .find_user_by_email(email.as_str())
            .await?
            .ok_or_else(|| unknown_user(email.as_str()))?;
        if user.disabled_at.is_some() {
            return Err(OpError::validation(format!("user {email} is disabled")));
        }
        let member = self
            .store()
            .memberships(user.id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| unknown_user(email.as_str()))?;
        self.reset_link_for(user.id, member.workspace_id, member.role)
            .await
    }
}
