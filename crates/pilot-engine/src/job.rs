//! What a job kind is: a serializable type with a `run`.

use std::future::Future;

use pilot_domain::{JobId, NewJob, UnixMillis, WorkspaceId};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A kind of background job. Its value is the job's payload; its `KIND` names it in
/// the queue. Register each kind once in the application's [`crate::JobRegistry`].
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + 'static {
    /// The name stored in `jobs.kind`. Never rename one that may be queued.
    const KIND: &'static str;
    /// How many times a failing job runs before it is buried.
    const MAX_ATTEMPTS: i32 = NewJob::DEFAULT_MAX_ATTEMPTS;

    /// What the job needs from the application (store, clients, config).
    type Context: Clone + Send + Sync + 'static;

    fn run(
        self,
        ctx: Self::Context,
        meta: JobMeta,
    ) -> impl Future<Output = Result<JobOutcome, JobError>> + Send;
}

/// About the job being run, for handlers that care.
#[derive(Clone, Debug)]
pub struct JobMeta {
    pub id: JobId,
    pub kind: String,
    pub workspace_id: Option<WorkspaceId>,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    /// The worker process holding the job's lease.
    pub lease_owner: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Finished: the job leaves the queue.
    Done,
    /// Finished, and already out of the queue: the job's own last write removed it
    /// (a run's terminal progress write, `RunProgress::completes`).
    Completed,
    /// Not finished: run again at this instant, holding no worker or lease meanwhile,
    /// and without counting an attempt (a durable wait).
    SnoozeUntil(UnixMillis),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Try again after a backoff, while attempts remain.
    #[error("{0}")]
    Retryable(String),
    /// Do not try again: the job is buried as `dead`.
    #[error("{0}")]
    Permanent(String),
}

/// The queue row for a job of kind `J`.
pub fn new_job<J: BackgroundJob>(job: &J, run_at: UnixMillis) -> NewJob {
    let payload = serde_json::to_value(job).expect("job payloads serialize to JSON");
    NewJob::new(J::KIND, payload, run_at).max_attempts(J::MAX_ATTEMPTS)
}
