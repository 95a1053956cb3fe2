//! `POST /hooks/pilots/{token}`: a pilot's webhook trigger. The secret token in the
//! URL is the credential (no API key), looked up by its SHA-256 digest; the payload
//! becomes the run's trigger payload. An unknown token is not found.

use pilot_domain::{PilotStatus, TriggerType, WebhookToken};
use pilot_store::PilotRecord;
use serde_json::Value;
use tracing::field::Empty;

use crate::error::OpError;
use crate::operations::{Operations, record_tenant};
use crate::pilots::fire::{Firing, paused};
use crate::views::RunQueued;

use super::webhook_body::{WebhookRequest, webhook_payload};
use super::webhook_verify::verify;

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
        let pilot = self.webhook_pilot(token).await?;
        // Before the body is read, so a paused pilot is 409 whatever was sent; the
        // store checks again as it creates the run.
        if let Some(verification) = &pilot.webhook_verification {
            verify(
                verification,
                self.master_key(),
                request,
                self.now().0.div_euclid(1000),
            )?;
        }
        if pilot.status == PilotStatus::Paused {
            return Err(paused());
        }
        let payload = webhook_payload(request).await?;
        let firing = Firing {
            workspace_id: pilot.workspace_id,
            environment: pilot.environment,
            pilot_id: pilot.id,
            trigger_type: TriggerType::Webhook,
        };
        self.fire(firing, &payload, Some(&request.request_view()))
            .await
    }

    /// A sender's check of the webhook URL `token` names (`GET`/`HEAD`): queues
    /// nothing; the challenge to echo, if the query has one (`challenge`, or
    /// `hub.challenge` as WebSub and Meta send it). An unknown token is not found.
    #[tracing::instrument(
        name = "verify_webhook_url",
        skip_all,
        fields(workspace = Empty, environment = Empty)
    )]
    pub async fn verify_webhook_url(
        &self,
        token: &str,
        request: &WebhookRequest,
    ) -> Result<Option<String>, OpError> {
        self.webhook_pilot(token).await?;
        let query = request.query_pairs();
        let challenge =
            ["challenge", "hub.challenge"]
                .iter()
                .find_map(|name| match query.get(*name) {
                    Some(Value::String(value)) => Some(value.clone()),
                    Some(Value::Array(values)) => {
                        values.first().and_then(|v| v.as_str()).map(str::to_owned)
                    }
                    _ => None,
                });
        if challenge
            .as_ref()
            .is_some_and(|c| c.len() > MAX_CHALLENGE_BYTES)
        {
            return Err(OpError::bad_request(format!(
                "The challenge is over {MAX_CHALLENGE_BYTES} bytes."
            )));
        }
        Ok(challenge)
    }

    /// The webhook pilot `token` names, its tenant recorded on the span.
    async fn webhook_pilot(&self, token: &str) -> Result<PilotRecord, OpError> {
        let unknown = || OpError::not_found("Unknown webhook.");
        let token = WebhookToken::parse(token).ok_or_else(unknown)?;
        let pilot = self
            .store()
            .find_pilot_by_webhook(&token.digest())
            .await?
            .filter(|p| p.trigger_type == TriggerType::Webhook)
            // A pilot of an environment this server does not serve is not here.
            .filter(|p| self.policy().environments.accepts(p.environment))
            .ok_or_else(unknown)?;
        record_tenant(pilot.workspace_id, pilot.environment);
        Ok(pilot)
    }
}

/// The longest challenge echoed.
const MAX_CHALLENGE_BYTES: usize = 1024;
