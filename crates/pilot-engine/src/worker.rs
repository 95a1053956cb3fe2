//! The worker loop: claim, run, heartbeat, settle, reap — and stop cleanly.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pilot_domain::{Backoff, JobId, UnixMillis};
use pilot_store::{ClaimRequest, ClaimedJob, JobFinish, Store, StoreError};
use rand::Rng;
use serde::Deserialize;
use tokio::task::{Id as TaskId, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::job::{JobError, JobMeta, JobOutcome};
use crate::registry::JobRegistry;

/// How a worker paces itself. Every field has a default; see `config.default.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Jobs run at once by one worker process.
    pub concurrency: u32,
    /// How long a claim holds a job before another worker may take it.
    pub lease_ms: u64,
    /// How often running jobs' leases are extended (well under `lease_ms`).
    pub heartbeat_ms: u64,
    /// How long an idle worker waits for a wake-up before looking anyway.
    pub poll_interval_ms: u64,
    /// How often expired leases are looked for.
    pub reap_interval_ms: u64,
    /// On shutdown, how long running jobs may take to finish before they are released.
    pub shutdown_grace_ms: u64,
    /// Backoff after a failed attempt: `base · 2^(n-1)`, capped, with jitter.
    pub backoff_base_ms: i64,
    pub backoff_max_ms: i64,
    /// Fair use: jobs of one workspace running at once across all workers, claimed
    /// round-robin across workspaces; 0 turns fairness off (oldest first, no cap).
    pub workspace_cap: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 32,
            lease_ms: 60_000,
            heartbeat_ms: 15_000,
            poll_interval_ms: 1_000,
            reap_interval_ms: 5_000,
            shutdown_grace_ms: 10_000,
            backoff_base_ms: 1_000,
            backoff_max_ms: 3_600_000,
            workspace_cap: 10,
        }
    }
}

impl WorkerConfig {
    /// The cap a claim carries: `None` when fairness is off.
    fn claim_cap(&self) -> Option<u32> {
        (self.workspace_cap > 0).then_some(self.workspace_cap)
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            base_ms: self.backoff_base_ms,
            max_ms: self.backoff_max_ms,
        }
    }
}

/// What a worker did before it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub completed: u64,
    pub retried: u64,
    pub snoozed: u64,
    pub dead: u64,
    /// Jobs still running at the end of the grace period, handed back to the queue.
    pub released: u64,
}

pub struct Worker<C> {
    owner: String,
    store: Arc<dyn Store>,
    registry: Arc<JobRegistry<C>>,
    ctx: C,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
}

/// A job that ran, and how it ended.
struct Ran {
    job: ClaimedJob,
    result: Result<JobOutcome, JobError>,
}

impl<C: Clone + Send + Sync + 'static> Worker<C> {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<JobRegistry<C>>,
        ctx: C,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Self {
        let owner = format!("worker-{}", ulid_like());
        Worker {
            owner,
            store,
            registry,
            ctx,
            clock,
            config,
        }
    }

    /// The lease owner name this worker claims under (unique per worker).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Runs until `shutdown` is cancelled, then lets running jobs finish within the
    /// grace period and releases the rest. Store errors are logged and retried: a
    /// worker outlives a database restart.
    pub async fn run(self, shutdown: CancellationToken) -> WorkerReport {
        let mut report = WorkerReport::default();
        let mut running: JoinSet<Ran> = JoinSet::new();
        let mut in_flight: HashMap<TaskId, ClaimedJob> = HashMap::new();
        let notify = self.store.job_notify();
        let mut heartbeat =
            tokio::time::interval(Duration::from_millis(self.config.heartbeat_ms.max(1)));
        let mut reap =
            tokio::time::interval(Duration::from_millis(self.config.reap_interval_ms.max(1)));
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reap.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(1));
        let concurrency = self.config.concurrency.max(1) as usize;

        tracing::info!(owner = %self.owner, concurrency, "worker started");
        while !shutdown.is_cancelled() {
            // Register for a wake-up before looking, so an enqueue between the look and
            // the wait is not missed.
            let woken = notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();

            let free = concurrency - running.len();
            let mut claimed_full_batch = false;
            if free > 0 {
                match self.claim(free as u32).await {
                    Ok(jobs) => {
                        claimed_full_batch = jobs.len() == free;
                        for job in jobs {
                            self.spawn(&mut running, &mut in_flight, job);
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "claiming jobs failed; will retry");
                    }
                }
            }
            if claimed_full_batch && running.len() < concurrency {
                continue;
            }

            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(joined) = running.join_next_with_id() => {
                    let mut finished = vec![self.take(&mut in_flight, joined)];
                    while let Some(joined) = running.try_join_next_with_id() {
                        finished.push(self.take(&mut in_flight, joined));
                    }
                    self.settle(finished, &mut report).await;
                }
                _ = heartbeat.tick() => self.heartbeat(&in_flight).await,
                _ = reap.tick() => self.reap().await,
                _ = &mut woken, if running.len() < concurrency => {}
                _ = tokio::time::sleep(poll), if running.len() < concurrency => {}
            }
        }

        self.drain(running, in_flight, &mut report).await;
        tracing::info!(owner = %self.owner, ?report, "worker stopped");
        report
    }

    async fn claim(&self, limit: u32) -> Result<Vec<ClaimedJob>, StoreError> {
        let now = self.clock.now();
        self.store
            .claim(&ClaimRequest {
                owner: &self.owner,
                limit,
                now,
                lease_until: now.plus_ms(self.config.lease_ms as i64),
                workspace_cap: self.config.claim_cap(),
            })
            .await
    }

    fn spawn(
        &self,
        running: &mut JoinSet<Ran>,
        in_flight: &mut HashMap<TaskId, ClaimedJob>,
        job: ClaimedJob,
    ) {
        let meta = JobMeta {
            id: job.id,
            kind: job.kind.clone(),
            workspace_id: job.workspace_id,
            attempt: job.attempts,
            max_attempts: job.max_attempts,
        };
        let future = self
            .registry
            .run(job.payload.clone(), self.ctx.clone(), meta);
        let held = job.clone();
        let handle = running.spawn(async move {
            Ran {
                job,
                result: future.await,
            }
        });
        in_flight.insert(handle.id(), held);
    }

    /// Turns a joined task into its outcome; a panicking job counts as a failed attempt.
    fn take(
        &self,
        in_flight: &mut HashMap<TaskId, ClaimedJob>,
        joined: Result<(TaskId, Ran), tokio::task::JoinError>,
    ) -> Ran {
        match joined {
            Ok((id, ran)) => {
                in_flight.remove(&id);
                ran
            }
            Err(error) => {
                let job = in_flight
                    .remove(&error.id())
                    .expect("every running task has its job recorded");
                let why = if error.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                Ran {
                    job,
                    result: Err(JobError::Retryable(format!("the job {why}"))),
                }
            }
        }
    }

    /// Records how finished jobs ended: completions in one statement, the rest one by one.
    async fn settle(&self, finished: Vec<Ran>, report: &mut WorkerReport) {
        let now = self.clock.now();
        let mut completed = Vec::new();
        for Ran { job, result } in finished {
            let finish = match result {
                Ok(JobOutcome::Done) => {
                    metrics::counter!("pilot_jobs_processed_total", "kind" => job.kind.clone())
                        .increment(1);
                    completed.push(job.id);
                    continue;
                }
                Ok(JobOutcome::SnoozeUntil(run_at)) => {
                    report.snoozed += 1;
                    JobFinish::Snooze { run_at }
                }
                Err(error) => {
                    metrics::counter!("pilot_jobs_failed_total", "kind" => job.kind.clone())
                        .increment(1);
                    self.failure(&job, error, now, report)
                }
            };
            self.retry_store(|| self.store.finish(&self.owner, job.id, &finish, now))
                .await;
        }
        if !completed.is_empty() {
            report.completed += completed.len() as u64;
            self.retry_store(|| self.store.complete(&self.owner, &completed))
                .await;
        }
    }

    fn failure(
        &self,
        job: &ClaimedJob,
        error: JobError,
        now: UnixMillis,
        report: &mut WorkerReport,
    ) -> JobFinish {
        match error {
            JobError::Retryable(message) if job.attempts < job.max_attempts => {
                report.retried += 1;
                let delay = self
                    .config
                    .backoff()
                    .delay_ms(job.attempts, rand::rng().random());
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, delay_ms = delay, error = %message, "job failed; will retry");
                JobFinish::Retry {
                    run_at: now.plus_ms(delay),
                    error: message,
                }
            }
            JobError::Retryable(message) | JobError::Permanent(message) => {
                report.dead += 1;
                tracing::error!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job failed for good");
                JobFinish::Dead { error: message }
            }
        }
    }

    /// Settling must not be lost to a passing database error: retry a few times. If it
    /// still fails, the lease expires and the job runs again (at-least-once).
    async fn retry_store<T, F, Fut>(&self, mut op: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        for attempt in 1..=3u32 {
            match op().await {
                Ok(_) => return,
                Err(error) if attempt < 3 => {
                    tracing::warn!(%error, attempt, "settling jobs failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(error) => {
                    tracing::error!(%error, "settling jobs failed; their leases will expire")
                }
            }
        }
    }

    async fn heartbeat(&self, in_flight: &HashMap<TaskId, ClaimedJob>) {
        if in_flight.is_empty() {
            return;
        }
        let ids: Vec<JobId> = in_flight.values().map(|job| job.id).collect();
        let until = self.clock.now().plus_ms(self.config.lease_ms as i64);
        match self.store.heartbeat(&self.owner, &ids, until).await {
            Ok(held) if held < ids.len() as u64 => {
                tracing::warn!(
                    lost = ids.len() as u64 - held,
                    "some job leases were lost to the reaper"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "heartbeat failed"),
        }
    }

    async fn reap(&self) {
        match self.store.reap_expired(self.clock.now()).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "re-queued jobs whose worker stopped responding"),
            Err(error) => tracing::warn!(%error, "reaping expired leases failed"),
        }
    }

    /// Shutdown: let running jobs finish within the grace period, then release the rest.
    async fn drain(
        &self,
        mut running: JoinSet<Ran>,
        mut in_flight: HashMap<TaskId, ClaimedJob>,
        report: &mut WorkerReport,
    ) {
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.config.shutdown_grace_ms);
        let mut heartbeat =
            tokio::time::interval(Duration::from_millis(self.config.heartbeat_ms.max(1)));
        while !running.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = heartbeat.tick() => self.heartbeat(&in_flight).await,
                Some(joined) = running.join_next_with_id() => {
                    let ran = self.take(&mut in_flight, joined);
                    self.settle(vec![ran], report).await;
                }
            }
        }
        running.abort_all();
        while running.join_next().await.is_some() {}
        let left: Vec<JobId> = in_flight.values().map(|job| job.id).collect();
        if !left.is_empty() {
            let now = self.clock.now();
            match self.store.release(&self.owner, &left, now).await {
                Ok(count) => report.released += count,
                Err(error) => {
                    tracing::error!(%error, "releasing unfinished jobs failed; their leases will expire")
                }
            }
        }
    }
}

/// A short unique suffix for lease owner names.
fn ulid_like() -> String {
    let bytes: [u8; 10] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
