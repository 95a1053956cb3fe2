//! The one list of job kinds a worker can run.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::job::{BackgroundJob, JobError, JobMeta, JobOutcome};

type JobFuture = Pin<Box<dyn Future<Output = Result<JobOutcome, JobError>> + Send>>;
type Runner<C> = Box<dyn Fn(Value, C, JobMeta) -> JobFuture + Send + Sync>;

/// Maps each `KIND` to the code that runs it, for one application context `C`.
pub struct JobRegistry<C> {
    runners: HashMap<&'static str, Runner<C>>,
}

impl<C: Clone + Send + Sync + 'static> Default for JobRegistry<C> {
    fn default() -> Self {
        JobRegistry {
            runners: HashMap::new(),
        }
    }
}

impl<C: Clone + Send + Sync + 'static> JobRegistry<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind. Registering one kind twice is a programming error.
    pub fn register<J: BackgroundJob<Context = C>>(mut self) -> Self {
        let runner: Runner<C> = Box::new(|payload, ctx, meta| {
            Box::pin(async move {
                let job: J = serde_json::from_value(payload).map_err(|error| {
                    JobError::Permanent(format!(
                        "payload does not fit job kind {}: {error}",
                        J::KIND
                    ))
                })?;
                job.run(ctx, meta).await
            })
        });
        let previous = self.runners.insert(J::KIND, runner);
        assert!(previous.is_none(), "job kind {} registered twice", J::KIND);
        self
    }

    pub fn knows(&self, kind: &str) -> bool {
        self.runners.contains_key(kind)
    }

    pub(crate) fn run(&self, payload: Value, ctx: C, meta: JobMeta) -> JobFuture {
        match self.runners.get(meta.kind.as_str()) {
            Some(runner) => runner(payload, ctx, meta),
            None => {
                let kind = meta.kind.clone();
                Box::pin(async move {
                    // Retryable: during a rolling upgrade a newer worker may know the kind.
                    Err(JobError::Retryable(format!(
                        "no handler is registered for job kind {kind:?}"
                    )))
                })
            }
        }
    }
}
