//! A job that does nothing: measures the queue itself (`pilot bench queue`).

use pilot_engine::{BackgroundJob, JobError, JobMeta, JobOutcome};
use serde::{Deserialize, Serialize};

use super::JobContext;

#[derive(Debug, Serialize, Deserialize)]
pub struct Noop {}

impl BackgroundJob for Noop {
    const KIND: &'static str = "noop";
    type Context = JobContext;

    async fn run(self, _ctx: JobContext, _meta: JobMeta) -> Result<JobOutcome, JobError> {
        Ok(JobOutcome::Done)
    }
}
