//! The `email` trigger: mail to a pilot's address (`pilot-…@<domain>`) becomes a run
//! whose payload is the message. The SMTP listener asks [`Operations::email_accepts`]
//! at `RCPT TO` and calls [`Operations::fire_email`] per recipient before it answers
//! `250` to `DATA`, so accepted mail is never lost.

use pilot_domain::{PilotStatus, TriggerType};
use pilot_store::PilotRecord;
use serde_json::Value;
use tracing::field::Empty;

use crate::error::OpError;
use crate::operations::{Operations, record_tenant};
use crate::pilots::fire::Firing;
use crate::views::RunQueued;

impl Operations {
    /// Whether mail to `local_part` would fire an active email pilot.
    #[tracing::instrument(name = "email_accepts", skip_all)]
    pub async fn email_accepts(&self, local_part: &str) -> Result<bool, OpError> {
        let pilot = self.email_pilot(local_part).await?;
        Ok(pilot.is_some_and(|p| p.status == PilotStatus::Active))
    }

    /// Fires the email pilot at `local_part` with the message as `payload`.
    /// Its span names the tenant once the pilot is found, never the address.
    #[tracing::instrument(
        name = "fire_email",
        skip_all,
        fields(workspace = Empty, environment = Empty)
    )]
    pub async fn fire_email(
        &self,
        local_part: &str,
        payload: &Value,
    ) -> Result<RunQueued, OpError> {
        let pilot = self
            .email_pilot(local_part)
            .await?
            .ok_or_else(|| OpError::not_found("No email pilot has this address."))?;
        record_tenant(pilot.workspace_id, pilot.environment);
        let firing = Firing {
            workspace_id: pilot.workspace_id,
            environment: pilot.environment,
            pilot_id: pilot.id,
            trigger_type: TriggerType::Email,
        };
        let queued = self.fire(firing, payload, None).await?;
        tracing::info!(pilot = pilot.id.0, run = queued.job_id, "email fired a run");
        Ok(queued)
    }

    /// The email pilot at `local_part`, if this server serves its environment.
    async fn email_pilot(&self, local_part: &str) -> Result<Option<PilotRecord>, OpError> {
        Ok(self
            .store()
            .find_pilot_by_email(local_part)
            .await?
            .filter(|p| p.trigger_type == TriggerType::Email)
            .filter(|p| self.policy().environments.accepts(p.environment)))
    }
}
