//! `deliberate`: drives one deliberation through the panel pipeline
//! ([`pilot_engine::deliberation::drive_deliberation`]). The payload is
//! `{"deliberation_id": "del_…"}`, written by the store in the same transaction as
//! the deliberation and its credit reservation (`pilot_store::DELIBERATION_JOB_KIND`).

use pilot_domain::DeliberationId;
use pilot_engine::deliberation::drive_deliberation;
use pilot_engine::{BackgroundJob, JobError, JobMeta, JobOutcome};
use serde::{Deserialize, Serialize};

use super::JobContext;

#[derive(Debug, Serialize, Deserialize)]
pub struct Deliberate {
    pub deliberation_id: DeliberationId,
}

impl BackgroundJob for Deliberate {
    const KIND: &'static str = pilot_store::DELIBERATION_JOB_KIND;
    /// Store outages are the only failures; the pipeline's own end the deliberation.
    const MAX_ATTEMPTS: i32 = 10;
    type Context = JobContext;

    async fn run(self, ctx: JobContext, _meta: JobMeta) -> Result<JobOutcome, JobError> {
        drive_deliberation(&ctx.deliberations, &self.deliberation_id).await
    }
}
