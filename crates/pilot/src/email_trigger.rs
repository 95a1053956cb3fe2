//! The `email` trigger: the SMTP listener's handler over the store.
//!
//! A pilot with `triggerType: "email"` has an address `pilot-…@<domain>`; mail to it
//! becomes a run whose trigger payload is the message (`InboundMail::to_payload`).
//! The listener answers `250` to `DATA` only after `deliver` returned, and `deliver`
//! returns only once the run and its job are committed — so accepted mail is never
//! lost. Delivery is at least once: a client that resends after a `451` may fire a
//! pilot twice, as with any webhook.

use std::sync::Arc;

use async_trait::async_trait;
use pilot_domain::{PilotStatus, TriggerType};
use pilot_engine::Clock;
use pilot_smtp::{HandlerError, InboundMail, MailHandler};
use pilot_store::{CreateRun, Store};

pub struct EmailTrigger {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl EmailTrigger {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> EmailTrigger {
        EmailTrigger { store, clock }
    }
}

#[async_trait]
impl MailHandler for EmailTrigger {
    async fn accepts(&self, local_part: &str) -> Result<bool, HandlerError> {
        let pilot = self
            .store
            .find_pilot_by_email(local_part)
            .await
            .map_err(|e| HandlerError::with_source("store unavailable", e))?;
        Ok(pilot.is_some_and(|p| {
            p.trigger_type == TriggerType::Email && p.status == PilotStatus::Active
        }))
    }

    async fn deliver(&self, mail: &InboundMail) -> Result<(), HandlerError> {
        let Some(pilot) = self
            .store
            .find_pilot_by_email(&mail.recipient)
            .await
            .map_err(|e| HandlerError::with_source("store unavailable", e))?
        else {
            return Err(HandlerError::new("the pilot was deleted"));
        };
        let outcome = self
            .store
            .create_run(
                pilot.workspace_id,
                pilot.environment,
                pilot.id,
                TriggerType::Email,
                &mail.to_payload(),
                self.clock.now(),
            )
            .await
            .map_err(|e| HandlerError::with_source("store unavailable", e))?;
        match outcome {
            CreateRun::Created(run) => {
                tracing::info!(pilot = pilot.id.0, run = run.id.0, "email fired a run");
                Ok(())
            }
            CreateRun::PilotNotFound | CreateRun::PilotPaused => {
                Err(HandlerError::new("the pilot is paused or gone"))
            }
        }
    }
}
