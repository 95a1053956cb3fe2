//! The [`Principal`] a signed-in person calls every other operation with: backed by
//! a hidden API key row per (user, workspace, environment), made on first use. Its
//! token is generated and thrown away, so only its digest exists: it authenticates
//! nothing, and the store never lists it. Rate limits, a pilot's `steps_key_id` and
//! a deliberation's key then work as for any key.

use pilot_domain::{
    ApiKeyToken, Environment, Principal, Scopes, UserId, WebhookSecret, WorkspaceId,
};
use pilot_store::NewApiKey;

use super::{SIGNED_OUT, SessionView};
use crate::accounts::principal;
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// The session's principal in `environment` of its own workspace, with every
    /// scope.
    #[tracing::instrument(
        name = "dashboard_principal",
        skip_all,
        fields(workspace = session.workspace_id, environment = %environment)
    )]
    pub async fn dashboard_principal(
        &self,
        session: &SessionView,
        environment: Environment,
    ) -> Result<Principal, OpError> {
        let discarded = ApiKeyToken::generate(environment);
        let key = NewApiKey {
            environment,
            name: format!("dashboard: {}", session.email),
            prefix: discarded.display_prefix(),
            digest: discarded.digest(),
            scopes: Scopes::all(),
            webhook_secret_sealed: self.master_key().seal(WebhookSecret::generate().expose()),
        };
        let found = self
            .store()
            .dashboard_key(
                UserId(session.user_id),
                WorkspaceId(session.workspace_id),
                environment,
                &key,
                self.now(),
            )
            .await?;
        if found.key.revoked_at.is_some() {
            return Err(OpError::unauthenticated(SIGNED_OUT));
        }
        Ok(principal(found))
    }
}
