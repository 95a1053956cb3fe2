//! The signing secret of a tenant's run events: `run.completed` / `run.failed`
//! deliveries to pilots' `notifyUrl`s are signed with their workspace
//! environment's secret (deliberation events with the submitting key's own webhook
//! secret). A `whsec_` secret like the keys', stored sealed under the master key; it
//! is made the first time it is needed — a pilot given a `notifyUrl`, or an operator
//! asking for it — and replaced when an operator rotates it: deliveries signed from
//! then on, retries of earlier ones included, use the new one.
//!
//! Shown to the operator only (`pilot webhooks secret [--rotate]`).

use pilot_domain::{Environment, WebhookSecret};

use super::Tenant;
use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::SigningSecretView;

impl Operations {
    /// `workspace`'s signing secret in `environment`, in clear (made now if it has
    /// none).
    #[tracing::instrument(
        name = "signing_secret",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn signing_secret(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
    ) -> Result<SigningSecretView, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        let sealed = self.ensure_signing_secret(tenant).await?;
        let secret = self.master_key().open(&sealed).map_err(|error| {
            tracing::error!(%error, "the signing secret does not open under the master key");
            OpError::internal()
        })?;
        Ok(SigningSecretView {
            environment: environment.as_str().to_owned(),
            rotated: false,
            secret: WebhookSecret::from_plaintext(secret),
            workspace: workspace.to_owned(),
        })
    }

    /// Replaces `workspace`'s signing secret in `environment` with a new one, shown
    /// in clear.
    #[tracing::instrument(
        name = "rotate_signing_secret",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn rotate_signing_secret(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
    ) -> Result<SigningSecretView, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        let secret = WebhookSecret::generate();
        self.store()
            .rotate_signing_secret(
                tenant.workspace_id,
                tenant.environment,
                &self.master_key().seal(secret.expose()),
                self.now(),
            )
            .await?;
        tracing::info!("signing secret rotated");
        Ok(SigningSecretView {
            environment: environment.as_str().to_owned(),
            rotated: true,
            secret,
            workspace: workspace.to_owned(),
        })
    }

    /// The tenant's signing secret, sealed; a new one is stored first if it has
    /// none.
    pub(crate) async fn ensure_signing_secret(&self, tenant: Tenant) -> Result<String, OpError> {
        let candidate = self.master_key().seal(WebhookSecret::generate().expose());
        Ok(self
            .store()
            .ensure_signing_secret(
                tenant.workspace_id,
                tenant.environment,
                &candidate,
                self.now(),
            )
            .await?)
    }
}
