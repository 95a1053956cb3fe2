//! `run_pilot`: drives one pilot run through the step engine
//! ([`pilot_engine::runner::drive_run`]). The payload is `{"run_id": N}`, written by
//! the store in the same transaction as the run (`pilot_store::RUN_JOB_KIND`).

use pilot_domain::RunId;
use pilot_engine::runner::drive_run;
use pilot_engine::{BackgroundJob, JobError, JobMeta, JobOutcome};
use pilot_store::JobLease;
use serde::{Deserialize, Serialize};

use super::JobContext;

#[derive(Debug, Serialize, Deserialize)]
pub struct RunPilot {
    pub run_id: RunId,
}

impl BackgroundJob for RunPilot {
    const KIND: &'static str = pilot_store::RUN_JOB_KIND;
    /// Store outages are the only failures; steps' own failures end the run instead.
    const MAX_ATTEMPTS: i32 = 10;
    type Context = JobContext;

    async fn run(self, ctx: JobContext, meta: JobMeta) -> Result<JobOutcome, JobError> {
        let lease = JobLease {
            job: meta.id,
            owner: meta.lease_owner,
        };
        drive_run(&ctx.runs, self.run_id, Some(lease)).await
    }
}
