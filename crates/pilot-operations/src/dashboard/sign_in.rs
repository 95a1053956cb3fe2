//! Signing in with an email and a password. Limited per account and per client
//! address (store-backed buckets, so the limits hold across nodes); every refusal
//! but the limit's is the same `401`, and an unknown email is verified against a
//! dummy hash so it takes as long as a known one.

use pilot_domain::Email;

use super::{SignedIn, WRONG_CREDENTIALS, password};
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// A new session for the user with `email` and `password`, in their first
    /// workspace. `client` is the caller's address, for the per-address limit.
    #[tracing::instrument(name = "sign_in", skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<SignedIn, OpError> {
        let policy = self.policy().dashboard;
        self.enforce(
            &format!("dashboard:sign_in:address:{client}"),
            policy.sign_in_per_address,
        )
        .await?;
        let account = email.trim().to_lowercase();
        self.enforce(
            &format!("dashboard:sign_in:account:{account}"),
            policy.sign_in_per_account,
        )
        .await?;
        let user = match Email::parse(email) {
            Ok(email) => self.store().find_user_by_email(email.as_str()).await?,
            Err(_) => None,
        };
        let phc = user.as_ref().and_then(|user| user.password_hash.clone());
        let matches = password::verify(password, phc).await?;
        let wrong = || OpError::unauthenticated(WRONG_CREDENTIALS);
        let user = user
            .filter(|user| matches && user.disabled_at.is_none())
            .ok_or_else(wrong)?;
        let member = self
            .store()
            .memberships(user.id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(wrong)?;
        self.start_session(
            user.id,
            &user.email,
            member.workspace_id,
            &member.workspace_name,
            member.role,
        )
        .await
    }
}
