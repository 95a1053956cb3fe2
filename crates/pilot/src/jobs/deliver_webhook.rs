//! `deliver_webhook`: one attempt of one webhook delivery
//! ([`pilot_engine::webhooks::deliver`]). The payload is
//! [`pilot_store::DeliveryJob`], written by the store with the terminal state it
//! reports, or by a replay, a recover or an endpoint's re-enabling.

use pilot_engine::webhooks::deliver;
use pilot_engine::{BackgroundJob, JobError, JobMeta, JobOutcome};
use pilot_store::DeliveryJob;
use serde::{Deserialize, Serialize};

use super::JobContext;

#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliverWebhook(pub DeliveryJob);

impl BackgroundJob for DeliverWebhook {
    const KIND: &'static str = pilot_store::DELIVERY_JOB_KIND;
    /// Crashes and store faults only: the schedule's waits are snoozes.
    const MAX_ATTEMPTS: i32 = pilot_store::DELIVERY_JOB_MAX_ATTEMPTS;
    type Context = JobContext;

    async fn run(self, ctx: JobContext, _meta: JobMeta) -> Result<JobOutcome, JobError> {
        deliver(&ctx.deliveries, self.0).await
    }
}
