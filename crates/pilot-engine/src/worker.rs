//! The worker loop: register, claim, run, heartbeat, settle, reap — and stop cleanly.
//!
//! A worker is one process of the queue (`pilot serve`'s embedded worker, or `pilot
//! worker`): it registers in the store's process registry under its id, which is the
//! lease owner of every job it claims, and heartbeats every `process_heartbeat_ms`.
//! If it dies, any worker's reaper finds it gone — once `process_lapse_ms` passes
//! without a heartbeat, or at once on SQLite, where the kernel frees its lock file —
//! and hands all its jobs back together, long before each job's own lease would
//! expire (`pilot_store::ProcessStore`). The per-job lease and its heartbeat remain,
//! as the last line. On shutdown it finishes or releases its jobs, then deregisters.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pilot_domain::{Backoff, JobId, UnixMillis};
use pilot_store::{ClaimRequest, ClaimedJob, JobFinish, NewProcess, Store, StoreError};
use rand::Rng;
use serde::Deserialize;
use tokio::task::{Id as TaskId, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

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
    /// How often gone processes and expired leases are looked for (and their jobs
    /// handed back).
    pub reap_interval_ms: u64,
    /// How often this process tells the store it is alive.
    pub process_heartbeat_ms: u64,
    /// How long after its last heartbeat a process is taken for gone and its jobs
    /// are handed to others: a few heartbeats (at least two; see `lapse_ms`).
    pub process_lapse_ms: u64,
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
            reap_interval_ms: 2_000,
            process_heartbeat_ms: 2_000,
            process_lapse_ms: 8_000,
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

    /// The lapse a registration asks for: never under two heartbeats, so that one
    /// late heartbeat does not make a live process look gone.
    fn lapse_ms(&self) -> i64 {
        let lapse = self
            .process_lapse_ms
            .max(self.process_heartbeat_ms.saturating_mul(2));
        i64::try_from(lapse).unwrap_or(i64::MAX)
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
        let owner = format!("p{}-{}", std::process::id(), random_hex_20());
        Worker {
            owner,
            store,
            registry,
            ctx,
            clock,
            config,
        }
    }

    /// The process id this worker registers and claims under (unique per worker).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Registers, then runs until `shutdown` is cancelled, then lets running jobs
    /// finish within the grace period, releases the rest and deregisters. Store errors
    /// are logged and retried: a worker outlives a database restart (it claims
    /// nothing while it is not registered).
    pub async fn run(self, shutdown: CancellationToken) -> WorkerReport {
        let mut report = WorkerReport::default();
        let mut registered = self.register().await;
        let mut process_beat = every(self.config.process_heartbeat_ms);
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
            if free > 0 && registered {
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
                _ = process_beat.tick() => registered = self.beat(registered).await,
                _ = reap.tick() => self.reap().await,
                _ = &mut woken, if running.len() < concurrency => {}
                _ = tokio::time::sleep(poll), if running.len() < concurrency => {}
            }
        }

        self.drain(running, in_flight, &mut report, process_beat)
            .await;
        self.deregister().await;
        tracing::info!(owner = %self.owner, ?report, "worker stopped");
        report
    }

    /// Registers this process, reaping gone ones first (on SQLite, a predecessor
    /// killed on this data directory); `false` if the store could not be reached.
    async fn register(&self) -> bool {
        let now = self.clock.now();
        let process = NewProcess {
            id: self.owner.clone(),
            host: host_name(),
            pid: std::process::id(),
        };
        match self
            .store
            .register_process(&process, now, now.plus_ms(self.config.lapse_ms()))
            .await
        {
            Ok(reaped) => {
                if reaped.processes > 0 {
                    tracing::warn!(
                        processes = reaped.processes,
                        jobs = reaped.jobs,
                        "handed back the jobs of worker processes that are gone"
                    );
                }
                true
            }
            Err(error) => {
                tracing::error!(%error, "registering the worker process failed; will retry");
                false
            }
        }
    }

    /// The process heartbeat; registers (again) when the store does not know this
    /// process — it was never registered, or was judged gone while it stalled.
    async fn beat(&self, registered: bool) -> bool {
        if !registered {
            return self.register().await;
        }
        let now = self.clock.now();
        let until = now.plus_ms(self.config.lapse_ms());
        match self.store.heartbeat_process(&self.owner, now, until).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(owner = %self.owner, "this worker process was taken for gone; registering again");
                self.register().await
            }
            Err(error) => {
                tracing::warn!(%error, "process heartbeat failed");
                true
            }
        }
    }

    /// A clean exit: whatever this process still holds goes back, and it leaves the
    /// registry.
    async fn deregister(&self) {
        self.retry_store(|| self.store.deregister_process(&self.owner, self.clock.now()))
            .await;
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
            lease_owner: self.owner.clone(),
        };
        let future = self
            .registry
            .run(job.payload.clone(), self.ctx.clone(), meta);
        let held = job.clone();
        let span = job_span(&job);
        let handle = running.spawn(
            async move {
                Ran {
                    job,
                    result: future.await,
                }
            }
            .instrument(span),
        );
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
                Ok(outcome @ (JobOutcome::Done | JobOutcome::Completed)) => {
                    metrics::counter!("pilot_jobs_processed_total", "kind" => job.kind.clone())
                        .increment(1);
                    // A `Completed` job already left the queue in its own last write.
                    match outcome {
                        JobOutcome::Done => completed.push(job.id),
                        _ => report.completed += 1,
                    }
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

    /// Hands back the jobs of gone processes (all of a process's jobs at once), then
    /// those whose own lease expired.
    async fn reap(&self) {
        match self
            .store
            .reap_processes(self.clock.now(), Some(&self.owner))
            .await
        {
            Ok(reaped) if reaped.processes == 0 => {}
            Ok(reaped) => tracing::warn!(
                processes = reaped.processes,
                jobs = reaped.jobs,
                "handed back the jobs of worker processes that are gone"
            ),
            Err(error) => tracing::warn!(%error, "reaping gone processes failed"),
        }
        match self.store.reap_expired(self.clock.now()).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "re-queued jobs whose worker stopped responding"),
            Err(error) => tracing::warn!(%error, "reaping expired leases failed"),
        }
    }

    /// Shutdown: let running jobs finish within the grace period (still heartbeating
    /// the jobs and the process), then release the rest.
    async fn drain(
        &self,
        mut running: JoinSet<Ran>,
        mut in_flight: HashMap<TaskId, ClaimedJob>,
        report: &mut WorkerReport,
        mut process_beat: tokio::time::Interval,
    ) {
        let mut registered = true;
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(self.config.shutdown_grace_ms);
        let mut heartbeat =
            tokio::time::interval(Duration::from_millis(self.config.heartbeat_ms.max(1)));
        while !running.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = heartbeat.tick() => self.heartbeat(&in_flight).await,
                _ = process_beat.tick() => registered = self.beat(registered).await,
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

/// The span a job runs in: everything it logs — its steps, its model calls, the
/// operations it calls — says which job, of which kind and workspace, on which
/// attempt. (The payload is not in it: it may hold what a tenant sent.)
fn job_span(job: &ClaimedJob) -> tracing::Span {
    tracing::info_span!(
        "job",
        job.id = job.id.0,
        job.kind = %job.kind,
        job.attempt = job.attempts,
        workspace = job.workspace_id.map(|w| w.0),
    )
}

/// An interval of `ms` whose first tick is one period away (not at once).
fn every(ms: u64) -> tokio::time::Interval {
    let period = Duration::from_millis(ms.max(1));
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// This machine's name, for the process registry (operators read it; nothing
/// depends on it).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Twenty random lowercase hex digits (80 bits): what makes a process id unique among
/// processes with the same pid.
fn random_hex_20() -> String {
    let bytes: [u8; 10] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_id_suffixes_are_twenty_hex_digits_and_differ() {
        let (a, b) = (random_hex_20(), random_hex_20());
        assert_eq!(a.len(), 20);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert_ne!(a, b);
    }
}
