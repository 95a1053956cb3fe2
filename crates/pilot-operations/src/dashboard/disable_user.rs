//! Disabling a user: they can no longer sign in, their sessions end and their hidden
//! dashboard keys are revoked, in one store transaction.

use pilot_domain::Email;

use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;

/// What an operator's use case answers when no user has `email`.
pub(super) fn unknown_user(email: &str) -> OpError {
    OpError::not_found(format!("no user with email {email:?}"))
}

impl Operations {
    /// Disables the user with `email` (already disabled: nothing changes).
    #[tracing::instrument(name = "disable_user", skip_all, fields(operator = %operator))]
    pub async fn disable_user(&self, operator: &Operator, email: &str) -> Result<(), OpError> {
        let email = Email::parse(email).map_err(OpError::validation)?;
        let user = self
            .store()
            .find_user_by_email(email.as_str())
            .await?
            .ok_or_else(|| unknown_user(email.as_str()))?;
        self.store().disable_user(user.id, self.now()).await?;
        tracing::info!(user = user.id.0, "user disabled");
        Ok(())
    }
}
