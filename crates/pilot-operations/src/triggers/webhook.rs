//! `POST /hooks/pilots/{token}`: a pilot's webhook trigger. The secret token in the
//! URL is the credential (no API key), looked up by its SHA-256 digest; the payload
//! becomes the run's trigger payload. An unknown token is not found.

use pilot_domain::{TriggerType, WebhookToken};
use tracing::field::Empty;

use crate::error::OpError;
use crate::operations::{Operations, record_tenant};
use crate::pilots::fire::Firing;
use crate::views::RunQueued;

use super::webhook_body::{WebhookRequest, webhook_payload};

impl Operations {
    /// Fires the webhook pilot `token` names with the payload `request` makes
    /// (`webhook_body`).
    /// Its span never holds the token: the tenant is named once the pilot is found.
    #[tracing::instrument(
        name = "fire_webhook",
        skip_all,
        fields(workspace = Empty, environment = Empty)
    )]
    pub async fn fire_webhook(
        &self,
        token: &str,
        request: &WebhookRequest,
    ) -> Result<RunQueued, OpError> {
        let unknown = || OpError::not_found("Unknown webhook.");
        let token = WebhookToken::parse(token).ok_or_else(unknown)?;
        let pilot = self
            .store()
            .find_pilot_by_webhook(&token.digest())
            .await?
            .filter(|p| p.trigger_type == TriggerType::Webhook)
            .ok_or_else(unknown)?;
        record_tenant(pilot.workspace_id, pilot.environment);
        let payload = webhook_payload(request).await?;
        let firing = Firing {
            workspace_id: pilot.workspace_id,
            environment: pilot.environment,
            pilot_id: pilot.id,
            trigger_type: TriggerType::Webhook,
        };
        self.fire(firing, &payload).await
    }
}
