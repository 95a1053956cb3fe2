//! The worker against a real store: every case runs on SQLite and, when
//! `PILOT_TEST_POSTGRES_URL` is set, on PostgreSQL.
//!
//! Leases and backoff are measured on a [`ManualClock`] that only the test moves. The
//! jobs report what they do over a channel, and the test waits on those reports — each
//! wait bounded, so a missing one fails the test instead of hanging it. Only the moment
//! a worker settles a job has no signal; there the test polls the job's row.
//! Workers in the manual-clock cases poll rarely, so a job that becomes due must be
//! found through the store's wake-up, as in production.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pilot_domain::{JobId, JobState, NewJob, UnixMillis};
use pilot_engine::{
    BackgroundJob, Clock, JobError, JobMeta, JobOutcome, JobRegistry, ManualClock, SystemClock,
    Worker, WorkerConfig, WorkerReport, new_job,
};
use pilot_store::{Backend, JobRecord, QueueCounts, Store};
use pilot_testkit::{TestDb, backends};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const T0: UnixMillis = UnixMillis(1_700_000_000_000);

/// How long anything that must happen may take before the test fails.
const GUARD: Duration = Duration::from_secs(10);

async fn within<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not happen within {limit:?}"))
}

// ---------------------------------------------------------------------------------
// What the jobs tell the test.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    step: &'static str,
    attempt: i32,
}

fn event(step: &'static str, attempt: i32) -> Event {
    Event { step, attempt }
}

/// The context of the single-job cases: a line back to the test, a run counter, and a
/// gate a job may wait at.
struct Probe {
    events: mpsc::UnboundedSender<Event>,
    runs: AtomicU32,
    gate: Notify,
}

impl Probe {
    fn new() -> (Arc<Probe>, Events) {
        let (events, received) = mpsc::unbounded_channel();
        let probe = Probe {
            events,
            runs: AtomicU32::new(0),
            gate: Notify::new(),
        };
        (Arc::new(probe), Events(received))
    }

    fn tell(&self, step: &'static str, meta: &JobMeta) {
        // The test holds the receiver for as long as any worker runs.
        let _ = self.events.send(event(step, meta.attempt));
    }
}

struct Events(mpsc::UnboundedReceiver<Event>);

impl Events {
    async fn next(&mut self) -> Event {
        within("the next job event", GUARD, self.0.recv())
            .await
            .expect("the probe outlives the workers")
    }

    /// The next `n` events, sorted (for jobs that run concurrently).
    async fn next_sorted(&mut self, n: usize) -> Vec<Event> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.next().await);
        }
        events.sort();
        events
    }

    /// Call once every worker has stopped: nothing ran that the test did not see.
    fn assert_no_more(&mut self, backend: Backend) {
        let extra: Vec<Event> = std::iter::from_fn(|| self.0.try_recv().ok()).collect();
        assert!(
            extra.is_empty(),
            "{backend:?}: unexpected job events {extra:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Job kinds.

/// One of many numbered jobs; counts its runs.
#[derive(Serialize, Deserialize)]
struct Counted {
    n: u32,
}

struct Tally {
    runs: Mutex<HashMap<u32, u32>>,
    /// How many distinct jobs have run.
    distinct: watch::Sender<usize>,
}

impl BackgroundJob for Counted {
    const KIND: &'static str = "test.counted";
    type Context = Arc<Tally>;

    async fn run(self, tally: Arc<Tally>, _meta: JobMeta) -> Result<JobOutcome, JobError> {
        let mut runs = tally.runs.lock().unwrap();
        *runs.entry(self.n).or_default() += 1;
        // Published under the lock, so the count seen never goes backwards.
        tally.distinct.send_replace(runs.len());
        Ok(JobOutcome::Done)
    }
}

/// Hangs on its first attempt, as if its process had frozen or vanished mid-job.
#[derive(Serialize, Deserialize)]
struct HangsOnce {
    label: String,
}

impl BackgroundJob for HangsOnce {
    const KIND: &'static str = "test.hangs_once";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        probe.tell("started", &meta);
        if meta.attempt == 1 {
            std::future::pending::<()>().await;
        }
        probe.tell("done", &meta);
        Ok(JobOutcome::Done)
    }
}

/// Fails its first attempt with a retryable error.
#[derive(Serialize, Deserialize)]
struct FailsOnce {
    message: String,
}

impl BackgroundJob for FailsOnce {
    const KIND: &'static str = "test.fails_once";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        probe.tell("started", &meta);
        if meta.attempt == 1 {
            return Err(JobError::Retryable(self.message));
        }
        probe.tell("done", &meta);
        Ok(JobOutcome::Done)
    }
}

/// Fails for good at once.
#[derive(Serialize, Deserialize)]
struct Rejected {
    reason: String,
}

impl BackgroundJob for Rejected {
    const KIND: &'static str = "test.rejected";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        probe.tell("rejected", &meta);
        Err(JobError::Permanent(self.reason))
    }
}

/// Always fails with a retryable error, and has two attempts.
#[derive(Serialize, Deserialize)]
struct AlwaysFails {
    message: String,
}

impl BackgroundJob for AlwaysFails {
    const KIND: &'static str = "test.always_fails";
    const MAX_ATTEMPTS: i32 = 2;
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        probe.tell("failed", &meta);
        Err(JobError::Retryable(self.message))
    }
}

/// Snoozes until `wake_at` on its first run, finishes on its second.
#[derive(Serialize, Deserialize)]
struct Sleeper {
    wake_at: UnixMillis,
}

impl BackgroundJob for Sleeper {
    const KIND: &'static str = "test.sleeper";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        if probe.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            probe.tell("snoozed", &meta);
            return Ok(JobOutcome::SnoozeUntil(self.wake_at));
        }
        probe.tell("done", &meta);
        Ok(JobOutcome::Done)
    }
}

/// Waits at the probe's gate and then finishes, or, if `finishes` is false, never does.
#[derive(Serialize, Deserialize)]
struct Parked {
    finishes: bool,
}

impl BackgroundJob for Parked {
    const KIND: &'static str = "test.parked";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        if !self.finishes {
            probe.tell("hanger started", &meta);
            std::future::pending::<()>().await;
        }
        probe.tell("finisher started", &meta);
        probe.gate.notified().await;
        probe.tell("finisher done", &meta);
        Ok(JobOutcome::Done)
    }
}

/// Panics on its first attempt.
#[derive(Serialize, Deserialize)]
struct PanicsOnce {
    message: String,
}

impl BackgroundJob for PanicsOnce {
    const KIND: &'static str = "test.panics_once";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        probe.tell("started", &meta);
        if meta.attempt == 1 {
            panic!("{}", self.message);
        }
        probe.tell("done", &meta);
        Ok(JobOutcome::Done)
    }
}

/// A job of a workspace that hangs in the worker whose gate says so (as if its
/// process froze or vanished mid-step) and completes elsewhere.
#[derive(Serialize, Deserialize)]
struct Gated {
    n: u32,
}

struct Gate {
    probe: Arc<Probe>,
    hang: bool,
}

impl BackgroundJob for Gated {
    const KIND: &'static str = "test.gated";
    type Context = Arc<Gate>;

    async fn run(self, gate: Arc<Gate>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        gate.probe.tell("started", &meta);
        if gate.hang {
            std::future::pending::<()>().await;
        }
        gate.probe.tell("done", &meta);
        Ok(JobOutcome::Done)
    }
}

/// Logs one line as it runs, and tells the test.
#[derive(Serialize, Deserialize)]
struct Chatty {
    note: String,
}

impl BackgroundJob for Chatty {
    const KIND: &'static str = "test.chatty";
    type Context = Arc<Probe>;

    async fn run(self, probe: Arc<Probe>, meta: JobMeta) -> Result<JobOutcome, JobError> {
        tracing::info!(note = %self.note, "chatty job ran");
        probe.tell("done", &meta);
        Ok(JobOutcome::Done)
    }
}

// ---------------------------------------------------------------------------------
// Running workers.

struct RunningWorker {
    owner: String,
    shutdown: CancellationToken,
    handle: JoinHandle<WorkerReport>,
}

impl RunningWorker {
    fn start<C: Clone + Send + Sync + 'static>(
        store: Arc<dyn Store>,
        registry: &Arc<JobRegistry<C>>,
        ctx: C,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> RunningWorker {
        let worker = Worker::new(store, registry.clone(), ctx, clock, config);
        let owner = worker.owner().to_owned();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(worker.run(shutdown.clone()));
        RunningWorker {
            owner,
            shutdown,
            handle,
        }
    }

    /// Asks the worker to stop and waits for its report.
    async fn stop(self) -> WorkerReport {
        self.shutdown.cancel();
        within("the worker stopping", GUARD, self.handle)
            .await
            .expect("the worker task does not panic")
    }
}

/// The store a worker on another node would use: on PostgreSQL a pool of its own; on
/// SQLite, whose file one process owns, the test's store.
async fn node_store(db: &TestDb) -> Arc<dyn Store> {
    match db.store.backend() {
        Backend::Sqlite => db.store.clone(),
        Backend::Postgres => pilot_store::open(&db.url, &Default::default())
            .await
            .expect("open another pool on the test database"),
    }
}

/// A worker paced for a manual clock: leases and backoff in clock time, polling and
/// heartbeats in real time, and polling too rare to matter within a test.
fn manual_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        lease_ms: 30_000,
        heartbeat_ms: 60_000,
        poll_interval_ms: 600_000,
        reap_interval_ms: 600_000,
        process_heartbeat_ms: 60_000,
        // Longer than the lease: the lease cases see only the lease.
        process_lapse_ms: 120_000,
        shutdown_grace_ms: 5_000,
        backoff_base_ms: 1_000,
        backoff_max_ms: 60_000,
        workspace_cap: 10,
    }
}

fn manual_clock() -> (Arc<ManualClock>, Arc<dyn Clock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let as_dyn: Arc<dyn Clock> = clock.clone();
    (clock, as_dyn)
}

/// Moves the clock to `instant` (not backwards) and wakes idle workers, as an enqueue
/// would: the clock moves first, so a worker that looks after the wake-up sees it.
fn advance_to(clock: &ManualClock, instant: UnixMillis, store: &dyn Store) {
    let now = clock.now();
    assert!(instant >= now, "the clock only moves forwards");
    clock.advance_ms(instant.0 - now.0);
    store.job_notify().notify_waiters();
}

/// Polls a job's row until `wanted` holds. Used only where no event marks the moment:
/// a worker settling a job.
async fn job_when(
    store: &dyn Store,
    id: JobId,
    what: &str,
    wanted: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let mut last = None;
    let found = tokio::time::timeout(GUARD, async {
        loop {
            let job = store.get_job(id).await.expect("read the job");
            if let Some(job) = &job
                && wanted(job)
            {
                return job.clone();
            }
            last = job;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("{what}: not within {GUARD:?}; last seen {last:?}"))
}

async fn enqueue<J: BackgroundJob>(store: &dyn Store, job: &J) -> JobId {
    store.enqueue(&new_job(job, T0), T0).await.expect("enqueue")
}

// ---------------------------------------------------------------------------------
// The cases.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_jobs_across_m_workers_each_complete_exactly_once() {
    const JOBS: u32 = 500;
    const WORKERS: usize = 4;
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (distinct, mut distinct_seen) = watch::channel(0);
        let tally = Arc::new(Tally {
            runs: Mutex::new(HashMap::new()),
            distinct,
        });
        let registry = Arc::new(JobRegistry::new().register::<Counted>());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let config = WorkerConfig {
            concurrency: 16,
            poll_interval_ms: 100,
            ..WorkerConfig::default()
        };
        let mut workers = Vec::new();
        for _ in 0..WORKERS {
            workers.push(RunningWorker::start(
                node_store(&db).await,
                &registry,
                tally.clone(),
                clock.clone(),
                config.clone(),
            ));
        }

        let now = clock.now();
        let jobs: Vec<NewJob> = (0..JOBS).map(|n| new_job(&Counted { n }, now)).collect();
        let enqueued = db.store.enqueue_many(&jobs, now).await.unwrap();
        assert_eq!(enqueued, u64::from(JOBS), "{backend:?}");

        within(
            "every job running",
            Duration::from_secs(60),
            distinct_seen.wait_for(|&distinct| distinct == JOBS as usize),
        )
        .await
        .expect("the tally outlives the wait");

        let mut total = WorkerReport::default();
        for worker in workers {
            let report = worker.stop().await;
            total.completed += report.completed;
            total.retried += report.retried;
            total.snoozed += report.snoozed;
            total.dead += report.dead;
            total.released += report.released;
        }
        assert_eq!(
            total,
            WorkerReport {
                completed: u64::from(JOBS),
                ..WorkerReport::default()
            },
            "{backend:?}: the workers' reports together"
        );

        let runs = tally.runs.lock().unwrap().clone();
        assert_eq!(runs.len(), JOBS as usize, "{backend:?}");
        let not_once: Vec<(u32, u32)> = (0..JOBS)
            .map(|n| (n, runs.get(&n).copied().unwrap_or(0)))
            .filter(|&(_, count)| count != 1)
            .collect();
        assert!(
            not_once.is_empty(),
            "{backend:?}: jobs that did not run exactly once (job, runs): {not_once:?}"
        );
        assert_eq!(
            db.store.queue_counts().await.unwrap(),
            QueueCounts::default(),
            "{backend:?}: every completed job left the queue"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_worker_job_runs_again_after_its_lease_expires() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<HangsOnce>());
        let id = enqueue(
            &*db.store,
            &HangsOnce {
                label: "vanishing".into(),
            },
        )
        .await;
        let config = manual_config();

        let a = RunningWorker::start(
            node_store(&db).await,
            &registry,
            probe.clone(),
            dyn_clock.clone(),
            config.clone(),
        );
        assert_eq!(events.next().await, event("started", 1), "{backend:?}");

        // Worker A's process vanishes: no shutdown, no release; only its lease is left.
        a.handle.abort();
        let gone = within("worker A ending", GUARD, a.handle).await;
        assert!(gone.is_err_and(|error| error.is_cancelled()), "{backend:?}");
        let held = db
            .store
            .get_job(id)
            .await
            .unwrap()
            .expect("the job is kept");
        assert_eq!(held.state, JobState::Running, "{backend:?}");
        assert_eq!(
            held.lease_owner.as_deref(),
            Some(a.owner.as_str()),
            "{backend:?}"
        );
        assert_eq!(held.attempts, 1, "{backend:?}");
        let lease_expires_at = held.lease_expires_at.expect("a running job has a lease");
        assert_eq!(
            lease_expires_at,
            T0.plus_ms(config.lease_ms as i64),
            "{backend:?}"
        );

        // Once the lease has expired, worker B's reaper hands the job back to the queue.
        clock.advance_ms(config.lease_ms as i64 + 1);
        let b = RunningWorker::start(
            node_store(&db).await,
            &registry,
            probe.clone(),
            dyn_clock.clone(),
            WorkerConfig {
                reap_interval_ms: 20,
                poll_interval_ms: 20,
                ..config
            },
        );
        assert_ne!(b.owner, a.owner);
        assert_eq!(events.next().await, event("started", 2), "{backend:?}");
        assert_eq!(events.next().await, event("done", 2), "{backend:?}");

        let report = b.stop().await;
        assert_eq!(
            report,
            WorkerReport {
                completed: 1,
                ..WorkerReport::default()
            },
            "{backend:?}"
        );
        assert_eq!(db.store.get_job(id).await.unwrap(), None, "{backend:?}");
        assert_eq!(
            db.store.queue_counts().await.unwrap(),
            QueueCounts::default(),
            "{backend:?}"
        );
        events.assert_no_more(backend);
    }
}

/// Polls the process registry until `wanted` holds (registering has no event).
async fn processes_when(store: &dyn Store, what: &str, wanted: impl Fn(&[String]) -> bool) {
    let found = tokio::time::timeout(GUARD, async {
        loop {
            let ids: Vec<String> = store
                .list_processes()
                .await
                .expect("list processes")
                .into_iter()
                .map(|p| p.id)
                .collect();
            if wanted(&ids) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("{what}: not within {GUARD:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_process_gives_its_jobs_back_when_its_heartbeat_lapses_long_before_their_leases()
{
    const CAP: u32 = 2;
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<Gated>());
        // One workspace, four jobs, a cap of two: two run, two wait behind them.
        let workspace = pilot_domain::WorkspaceId(1);
        let jobs: Vec<NewJob> = (0..4)
            .map(|n| new_job(&Gated { n }, T0).for_workspace(workspace))
            .collect();
        db.store.enqueue_many(&jobs, T0).await.unwrap();
        // Leases of an hour; a process lapses ten seconds after its last heartbeat
        // (beats are 5 s apart in real time: none of the test's clock is theirs).
        let config = WorkerConfig {
            lease_ms: 3_600_000,
            process_heartbeat_ms: 5_000,
            process_lapse_ms: 10_000,
            workspace_cap: CAP,
            reap_interval_ms: 20,
            poll_interval_ms: 20,
            ..manual_config()
        };
        let gate = |hang| {
            Arc::new(Gate {
                probe: probe.clone(),
                hang,
            })
        };

        let a = RunningWorker::start(
            node_store(&db).await,
            &registry,
            gate(true),
            dyn_clock.clone(),
            config.clone(),
        );
        assert_eq!(
            events.next_sorted(2).await,
            [event("started", 1), event("started", 1)],
            "{backend:?}"
        );
        // A's process vanishes mid-step: no shutdown, no release, no deregistering.
        a.handle.abort();
        let gone = within("worker A ending", GUARD, a.handle).await;
        assert!(gone.is_err_and(|error| error.is_cancelled()), "{backend:?}");
        let counts = db.store.queue_counts().await.unwrap();
        assert_eq!((counts.running, counts.queued), (2, 2), "{backend:?}");

        // B starts beside it. A has not lapsed (and on SQLite its lock is held by this
        // very process), so B's registration leaves A's jobs alone and the workspace's
        // other two jobs stay behind the cap.
        let b = RunningWorker::start(
            node_store(&db).await,
            &registry,
            gate(false),
            dyn_clock.clone(),
            config.clone(),
        );
        let (a_id, b_id) = (a.owner.clone(), b.owner.clone());
        processes_when(&*db.store, "B registered", |ids| ids.contains(&b_id)).await;
        let held: Vec<JobRecord> = {
            let mut held = Vec::new();
            for id in 1..=4 {
                if let Some(job) = db.store.get_job(JobId(id)).await.unwrap()
                    && job.state == JobState::Running
                {
                    held.push(job);
                }
            }
            held
        };
        assert_eq!(held.len(), 2, "{backend:?}");
        for job in &held {
            assert_eq!(
                job.lease_owner.as_deref(),
                Some(a_id.as_str()),
                "{backend:?}"
            );
            assert_eq!(job.lease_expires_at, Some(T0.plus_ms(3_600_000)));
        }

        // Past A's lapse and an hour short of its leases, B's reaper hands back both
        // of A's jobs at once; all four complete on B.
        advance_to(&clock, T0.plus_ms(10_001), &*db.store);
        let mut done = Vec::new();
        while done.len() < 4 {
            let next = events.next().await;
            if next.step == "done" {
                done.push(next);
            }
        }
        done.sort();
        assert_eq!(
            done,
            [
                event("done", 1),
                event("done", 1),
                event("done", 2),
                event("done", 2)
            ],
            "{backend:?}: A's two jobs ran again (attempt 2), the waiting two once"
        );
        assert!(clock.now() < T0.plus_ms(3_600_000), "no lease expired");
        processes_when(&*db.store, "A removed", |ids| ids == [b_id.clone()]).await;

        // A clean shutdown deregisters.
        let report = b.stop().await;
        assert_eq!(report.completed, 4, "{backend:?}");
        assert!(
            db.store.list_processes().await.unwrap().is_empty(),
            "{backend:?}"
        );
        assert_eq!(
            db.store.queue_counts().await.unwrap(),
            QueueCounts::default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_back_off_with_jitter_then_succeed() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<FailsOnce>());
        let message = "upstream answered 503";
        let id = enqueue(
            &*db.store,
            &FailsOnce {
                message: message.into(),
            },
        )
        .await;
        let worker = RunningWorker::start(
            db.store.clone(),
            &registry,
            probe.clone(),
            dyn_clock,
            WorkerConfig {
                backoff_base_ms: 10_000,
                backoff_max_ms: 3_600_000,
                ..manual_config()
            },
        );
        assert_eq!(events.next().await, event("started", 1), "{backend:?}");

        let waiting = job_when(&*db.store, id, "the failed job queued again", |job| {
            job.state == JobState::Queued && job.attempts == 1
        })
        .await;
        // The first failure's ceiling is the base; full jitter picks from half of it up.
        assert!(
            (T0.plus_ms(5_000)..=T0.plus_ms(10_000)).contains(&waiting.run_at),
            "{backend:?}: retry at {:?}, {} ms after the failure",
            waiting.run_at,
            waiting.run_at.0 - T0.0
        );
        assert_eq!(waiting.last_error.as_deref(), Some(message), "{backend:?}");
        assert_eq!(waiting.lease_owner, None, "{backend:?}");
        assert_eq!(waiting.lease_expires_at, None, "{backend:?}");

        // A job is due at its `run_at`.
        advance_to(&clock, waiting.run_at, &*db.store);
        assert_eq!(events.next().await, event("started", 2), "{backend:?}");
        assert_eq!(events.next().await, event("done", 2), "{backend:?}");

        let report = worker.stop().await;
        assert_eq!(
            report,
            WorkerReport {
                completed: 1,
                retried: 1,
                ..WorkerReport::default()
            },
            "{backend:?}"
        );
        assert_eq!(db.store.get_job(id).await.unwrap(), None, "{backend:?}");
        events.assert_no_more(backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_and_exhausted_retries_bury_the_job() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(
            JobRegistry::new()
                .register::<Rejected>()
                .register::<AlwaysFails>(),
        );
        let reason = "the workspace was deleted";
        let message = "the webhook endpoint timed out";
        let rejected = enqueue(
            &*db.store,
            &Rejected {
                reason: reason.into(),
            },
        )
        .await;
        let failing = enqueue(
            &*db.store,
            &AlwaysFails {
                message: message.into(),
            },
        )
        .await;
        let config = manual_config();
        let worker = RunningWorker::start(
            db.store.clone(),
            &registry,
            probe.clone(),
            dyn_clock,
            config.clone(),
        );
        assert_eq!(
            events.next_sorted(2).await,
            vec![event("failed", 1), event("rejected", 1)],
            "{backend:?}"
        );

        // A permanent error buries the job after its first attempt.
        let buried = job_when(&*db.store, rejected, "the rejected job buried", |job| {
            job.state == JobState::Dead
        })
        .await;
        assert_eq!(buried.attempts, 1, "{backend:?}");
        assert_eq!(buried.max_attempts, 5, "{backend:?}");
        assert_eq!(buried.last_error.as_deref(), Some(reason), "{backend:?}");
        assert_eq!(buried.lease_owner, None, "{backend:?}");

        // A retryable one is retried while attempts remain...
        let waiting = job_when(&*db.store, failing, "the failing job queued again", |job| {
            job.state == JobState::Queued && job.attempts == 1
        })
        .await;
        assert_eq!(
            waiting.max_attempts,
            AlwaysFails::MAX_ATTEMPTS,
            "{backend:?}"
        );
        let ceiling = config.backoff_base_ms;
        assert!(
            (T0.plus_ms(ceiling / 2)..=T0.plus_ms(ceiling)).contains(&waiting.run_at),
            "{backend:?}: retry at {:?}",
            waiting.run_at
        );
        advance_to(&clock, waiting.run_at, &*db.store);
        assert_eq!(events.next().await, event("failed", 2), "{backend:?}");

        // ...and buried once they are used up.
        let exhausted = job_when(&*db.store, failing, "the failing job buried", |job| {
            job.state == JobState::Dead
        })
        .await;
        assert_eq!(exhausted.attempts, 2, "{backend:?}");
        assert_eq!(
            exhausted.last_error.as_deref(),
            Some(message),
            "{backend:?}"
        );
        assert_eq!(exhausted.lease_owner, None, "{backend:?}");

        let report = worker.stop().await;
        assert_eq!(
            report,
            WorkerReport {
                retried: 1,
                dead: 2,
                ..WorkerReport::default()
            },
            "{backend:?}"
        );
        assert_eq!(
            db.store.queue_counts().await.unwrap(),
            QueueCounts {
                queued: 0,
                running: 0,
                dead: 2,
            },
            "{backend:?}"
        );
        events.assert_no_more(backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snooze_waits_without_counting_an_attempt() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<Sleeper>());
        let wake_at = T0.plus_ms(60_000);
        let id = enqueue(&*db.store, &Sleeper { wake_at }).await;
        let worker = RunningWorker::start(
            db.store.clone(),
            &registry,
            probe.clone(),
            dyn_clock,
            manual_config(),
        );
        assert_eq!(events.next().await, event("snoozed", 1), "{backend:?}");

        let snoozing = job_when(&*db.store, id, "the snoozed job queued again", |job| {
            job.state == JobState::Queued && job.run_at == wake_at
        })
        .await;
        assert_eq!(
            snoozing.attempts, 0,
            "{backend:?}: a snooze is not an attempt"
        );
        assert_eq!(snoozing.last_error, None, "{backend:?}");
        assert_eq!(snoozing.lease_owner, None, "{backend:?}");

        advance_to(&clock, wake_at, &*db.store);
        // Still the first attempt: the snooze gave its attempt back.
        assert_eq!(events.next().await, event("done", 1), "{backend:?}");

        let report = worker.stop().await;
        assert_eq!(
            report,
            WorkerReport {
                completed: 1,
                snoozed: 1,
                ..WorkerReport::default()
            },
            "{backend:?}"
        );
        assert_eq!(db.store.get_job(id).await.unwrap(), None, "{backend:?}");
        assert_eq!(probe.runs.load(Ordering::SeqCst), 2, "{backend:?}");
        events.assert_no_more(backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_running_jobs_finish_then_releases_the_rest() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (_clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<Parked>());
        let finisher = enqueue(&*db.store, &Parked { finishes: true }).await;
        let hanger = enqueue(&*db.store, &Parked { finishes: false }).await;
        let worker = RunningWorker::start(
            db.store.clone(),
            &registry,
            probe.clone(),
            dyn_clock,
            WorkerConfig {
                shutdown_grace_ms: 300,
                ..manual_config()
            },
        );
        assert_eq!(
            events.next_sorted(2).await,
            vec![event("finisher started", 1), event("hanger started", 1)],
            "{backend:?}"
        );
        let owner = worker.owner.clone();
        for id in [finisher, hanger] {
            let job = db.store.get_job(id).await.unwrap().expect("running");
            assert_eq!(job.state, JobState::Running, "{backend:?}");
            assert_eq!(job.lease_owner.as_deref(), Some(owner.as_str()));
        }

        // Shutdown begins; the finisher is let through the gate only afterwards, so it
        // ends within the grace period and the hanger outlasts it.
        worker.shutdown.cancel();
        probe.gate.notify_one();
        let report = within("the worker stopping", GUARD, worker.handle)
            .await
            .expect("the worker task does not panic");
        assert_eq!(
            report,
            WorkerReport {
                completed: 1,
                released: 1,
                ..WorkerReport::default()
            },
            "{backend:?}"
        );
        assert_eq!(
            events.next().await,
            event("finisher done", 1),
            "{backend:?}"
        );

        assert_eq!(
            db.store.get_job(finisher).await.unwrap(),
            None,
            "{backend:?}"
        );
        let released = db.store.get_job(hanger).await.unwrap().expect("kept");
        assert_eq!(released.state, JobState::Queued, "{backend:?}");
        assert_eq!(
            released.attempts, 0,
            "{backend:?}: the release gave the attempt back"
        );
        assert_eq!(released.lease_owner, None, "{backend:?}");
        assert_eq!(released.lease_expires_at, None, "{backend:?}");
        assert_eq!(released.run_at, T0, "{backend:?}: due again at once");
        assert_eq!(
            db.store.queue_counts().await.unwrap(),
            QueueCounts {
                queued: 1,
                running: 0,
                dead: 0,
            },
            "{backend:?}"
        );
        events.assert_no_more(backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_counts_as_a_failed_attempt_and_is_retried() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let (clock, dyn_clock) = manual_clock();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<PanicsOnce>());
        let id = enqueue(
            &*db.store,
            &PanicsOnce {
                message: "deliberate panic in a test job".into(),
            },
        )
        .await;
        let config = manual_config();
        let worker = RunningWorker::start(
            db.store.clone(),
            &registry,
            probe.clone(),
            dyn_clock,
            config.clone(),
        );
        assert_eq!(events.next().await, event("started", 1), "{backend:?}");

        let waiting = job_when(&*db.store, id, "the panicked job queued again", |job| {
            job.state == JobState::Queued && job.attempts == 1
        })
        .await;
        assert_eq!(
            waiting.last_error.as_deref(),
            Some("the job panicked"),
            "{backend:?}"
        );
        let ceiling = config.backoff_base_ms;
        assert!(
            (T0.plus_ms(ceiling / 2)..=T0.plus_ms(ceiling)).contains(&waiting.run_at),
            "{backend:?}: retry at {:?}",
            waiting.run_at
        );

        advance_to(&clock, waiting.run_at, &*db.store);
        assert_eq!(events.next().await, event("started", 2), "{backend:?}");
        assert_eq!(events.next().await, event("done", 2), "{backend:?}");

        let report = worker.stop().await;
        assert_eq!(
            report,
            WorkerReport {
                completed: 1,
                retried: 1,
                ..WorkerReport::default()
            },
            "{backend:?}"
        );
        assert_eq!(db.store.get_job(id).await.unwrap(), None, "{backend:?}");
        events.assert_no_more(backend);
    }
}

/// On the test's own thread (a current-thread runtime), so the trace collector sees
/// the worker's tasks.
#[tokio::test]
async fn each_job_runs_in_a_span_naming_its_id_kind_workspace_and_attempt() {
    for backend in backends() {
        let (traces, _capturing) = pilot_testkit::traces::capture();
        let db = TestDb::new(backend).await;
        let name = pilot_domain::WorkspaceName::parse("acme").unwrap();
        let (workspace, _) = db.store.create_workspace(&name, &[], T0).await.unwrap();
        let (probe, mut events) = Probe::new();
        let registry = Arc::new(JobRegistry::new().register::<Chatty>());
        let job = new_job(
            &Chatty {
                note: "hello".into(),
            },
            T0,
        )
        .for_workspace(workspace.id);
        let id = db.store.enqueue(&job, T0).await.unwrap();
        let (_, clock) = manual_clock();
        let worker = RunningWorker::start(
            db.store.clone(),
            &registry,
            probe,
            clock,
            WorkerConfig {
                poll_interval_ms: 50,
                ..manual_config()
            },
        );
        assert_eq!(events.next().await, event("done", 1));
        worker.stop().await;

        let ran = traces.events_saying("chatty job ran");
        assert_eq!(ran.len(), 1, "{backend:?}");
        assert_eq!(ran[0].field("note"), Some("hello"));
        let span = ran[0]
            .within("job")
            .expect("the job's event is inside its span");
        assert_eq!(span.field("job.id"), Some(id.0.to_string().as_str()));
        assert_eq!(span.field("job.kind"), Some("test.chatty"));
        assert_eq!(span.field("job.attempt"), Some("1"));
        assert_eq!(
            span.field("workspace"),
            Some(workspace.id.0.to_string().as_str())
        );
        assert!(
            !span.fields.values().any(|value| value.contains("hello")),
            "the payload stays out of the span: {span:?}"
        );
        assert_eq!(traces.spans_named("job").len(), 1, "one span per job run");
        events.assert_no_more(backend);
    }
}
