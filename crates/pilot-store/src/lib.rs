//! Pilot's storage: one [`Store`] interface, a SQLite and a PostgreSQL implementation
//! side by side, each with its own migrations, chosen once at start-up by [`open`].
//!
//! The interface is split by concern — [`WorkspaceStore`], [`KeyStore`], [`JobStore`],
//! the Pilots half's [`PilotStore`], [`RunStore`] and [`SecretStore`], the
//! [`RateLimitStore`] (GCRA buckets), and the Deliberations half's [`DeliberationStore`],
//! [`CreditStore`] and [`IdempotencyStore`], the [`ProcessStore`] (which worker
//! processes are alive), the [`WebhookStore`] (webhooks out), and the [`UserStore`]
//! (dashboard accounts: users, sessions, single-use links, hidden dashboard keys) — and each backend
//! implements each part in a file of its own.
//! Every method that reads tenant data takes the `(workspace, environment)` it is
//! scoped to; nothing here trusts a caller to filter afterwards.
//!
//! Instants are [`UnixMillis`] computed by the caller's clock, never by the database's,
//! so the engine's tests can drive time by hand.

mod checkpoint_rows;
mod checkpoints;
mod dashboard;
mod deliberation_rows;
mod deliberation_writes;
mod deliberations;
mod error;
mod pilot_rows;
mod pilots;
mod postgres;
mod processes;
mod rate_limits;
mod records;
mod row_decode;
mod rows;
pub mod scratch;
mod sqlite;
mod usage;
mod user_rows;
mod users;
mod webhook_rows;
mod webhook_writes;
mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use pilot_domain::{
    ApiKeyId, Environment, JobId, NewJob, UnixMillis, UsageRecord, WorkspaceId, WorkspaceName,
};
use tokio::sync::Notify;

pub use checkpoints::{AnswerCheckpoint, CheckpointRecord, CheckpointStore, NewCheckpoint};
pub use dashboard::{
    DeliberationSummaryRecord, QUESTION_PREVIEW_CHARS, RunSummaryRecord, TenantRunsFilter,
};
pub use deliberations::{
    CreateDeliberation, CreditStore, DELIBERATION_JOB_KIND, DeliberationRecord, DeliberationResult,
    DeliberationStore, EventRecord, IdempotencyBegin, IdempotencyStore, LedgerEntry,
    NewDeliberation, PanelEntry,
};
pub use error::{StoreError, StoreResult};
pub use pilots::{
    CreateRun, JobLease, NewPilot, NewRun, PilotPatch, PilotRecord, PilotStore, PilotTrigger,
    RUN_JOB_KIND, RetryFrom, RetryRun, RunDetail, RunProgress, RunRecord, RunStore, RunWork,
    SecretRecord, SecretStore, StepResultRecord,
};
pub use postgres::PostgresStore;
pub use processes::{NewProcess, ProcessRecord, ProcessStore, ReapedProcesses};
pub use rate_limits::{RateLimit, RateLimitHit, RateLimitState, RateLimitStore};
pub use records::{
    ApiKeyRecord, Backend, ClaimRequest, ClaimedJob, JobFinish, JobRecord, KeyLookup, NewApiKey,
    QueueCounts, WorkspaceRecord,
};
pub use sqlite::SqliteStore;
pub use usage::{DAY_MS, UsageQuery, UsageSummaryRow};
pub use users::{
    LinkPurpose, MemberRecord, NewSession, NewUserLink, SessionRecord, UserLinkRecord, UserRecord,
    UserStore,
};
pub use webhooks::{
    AttemptOutcome, AttemptRecord, DELIVERY_JOB_KIND, DELIVERY_JOB_MAX_ATTEMPTS, DeliveryJob,
    DeliveryQuery, DeliveryRecord, DeliveryWork, EndpointRecord, RecordedAttempt, WebhookStore,
};

/// Workspaces: the tenants.
#[async_trait]
pub trait WorkspaceStore {
    /// Creates a workspace and its first keys in one transaction.
    /// [`StoreError::Conflict`] if the name is taken.
    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        keys: &[NewApiKey],
        now: UnixMillis,
    ) -> StoreResult<(WorkspaceRecord, Vec<ApiKeyRecord>)>;

    async fn list_workspaces(&self) -> StoreResult<Vec<WorkspaceRecord>>;

    async fn find_workspace(&self, name: &str) -> StoreResult<Option<WorkspaceRecord>>;
}

/// API keys, stored as digests with their webhook secret sealed.
#[async_trait]
pub trait KeyStore {
    async fn create_api_key(
        &self,
        workspace_id: WorkspaceId,
        key: &NewApiKey,
        now: UnixMillis,
    ) -> StoreResult<ApiKeyRecord>;

    /// The keys of one workspace, optionally of one environment, oldest first.
    async fn list_api_keys(
        &self,
        workspace_id: WorkspaceId,
        environment: Option<Environment>,
    ) -> StoreResult<Vec<ApiKeyRecord>>;

    /// The key with this SHA-256 digest, revoked or not, with its workspace's name.
    async fn find_key_by_digest(&self, digest: &str) -> StoreResult<Option<KeyLookup>>;

    /// The key `key_id` of that workspace and environment, revoked or not, with its
    /// workspace's name: what a caller is made of when the key acts without being
    /// presented (a pilot run's authorising key, `RunRecord::authorized_key_id`).
    async fn find_key_in_tenant(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        key_id: ApiKeyId,
    ) -> StoreResult<Option<KeyLookup>>;

    /// Marks a key revoked; `false` if it does not exist in that workspace or already was.
    async fn revoke_api_key(
        &self,
        workspace_id: WorkspaceId,
        key_id: ApiKeyId,
        now: UnixMillis,
    ) -> StoreResult<bool>;

    /// Records that a key authenticated a request at `now`, unless that was already
    /// recorded less than `every_ms` before (so a busy key costs one write a minute).
    async fn touch_api_key(
        &self,
        key_id: ApiKeyId,
        now: UnixMillis,
        every_ms: i64,
    ) -> StoreResult<()>;

    /// The sealed webhook secret of a key in that workspace and environment.
    async fn sealed_webhook_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        key_id: ApiKeyId,
    ) -> StoreResult<Option<String>>;
}

/// The durable job queue's storage half; the engine's workers drive it.
///
/// Whenever a `run_pilot` job leaves `running` without completing — handed back
/// ([`JobStore::release`]), its lease expired ([`JobStore::reap_expired`]), its
/// process gone ([`ProcessStore::reap_processes`]), or settled to be retried or
/// buried ([`JobStore::finish`], but for a snooze) — its run follows in the same
/// transaction: a `running` run reads `queued` again (it waits for a worker and a
/// slot under the cap), and a run whose job is buried ends `failed` with the reason.
#[async_trait]
pub trait JobStore {
    async fn enqueue(&self, job: &NewJob, now: UnixMillis) -> StoreResult<JobId>;

    /// Inserts many jobs in one statement; returns how many.
    async fn enqueue_many(&self, jobs: &[NewJob], now: UnixMillis) -> StoreResult<u64>;

    /// Leases up to `limit` due jobs to `owner`, counting an attempt for each: oldest
    /// `run_at` first, or with a workspace cap round-robin across workspaces under it
    /// (see [`ClaimRequest::workspace_cap`]). Never hands one job to two owners.
    async fn claim(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedJob>>;

    /// Extends the leases `owner` still holds; returns how many it still holds.
    async fn heartbeat(
        &self,
        owner: &str,
        ids: &[JobId],
        lease_until: UnixMillis,
    ) -> StoreResult<u64>;

    /// Deletes completed jobs that `owner` still holds; returns how many.
    async fn complete(&self, owner: &str, ids: &[JobId]) -> StoreResult<u64>;

    /// Settles one job `owner` holds that did not complete; `false` if the lease was lost.
    async fn finish(
        &self,
        owner: &str,
        id: JobId,
        finish: &JobFinish,
        now: UnixMillis,
    ) -> StoreResult<bool>;

    /// Hands jobs `owner` holds back to the queue untouched (on shutdown): the attempt
    /// it counted is given back.
    async fn release(&self, owner: &str, ids: &[JobId], now: UnixMillis) -> StoreResult<u64>;

    /// Re-queues jobs whose lease expired before `now` (their worker vanished), or
    /// marks them dead when they have no attempts left. Returns how many it touched.
    async fn reap_expired(&self, now: UnixMillis) -> StoreResult<u64>;

    async fn queue_counts(&self) -> StoreResult<QueueCounts>;

    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>>;
}

/// Model usage: an append-only record of every metered model call.
#[async_trait]
pub trait UsageStore {
    async fn record_usage(&self, record: &UsageRecord) -> StoreResult<()>;

    /// Calls, tokens and cost by UTC day and model, oldest day first.
    async fn usage_summary(&self, query: &UsageQuery) -> StoreResult<Vec<UsageSummaryRow>>;
}

/// Everything Pilot keeps, on one backend.
#[async_trait]
pub trait Store:
    WorkspaceStore
    + KeyStore
    + JobStore
    + PilotStore
    + RunStore
    + SecretStore
    + RateLimitStore
    + UsageStore
    + DeliberationStore
    + CheckpointStore
    + CreditStore
    + IdempotencyStore
    + ProcessStore
    + WebhookStore
    + UserStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Applies this backend's pending migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// One round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// Notified when jobs may have become available: on every enqueue in this process,
    /// and on PostgreSQL on every insert by any process (`LISTEN/NOTIFY`).
    fn job_notify(&self) -> Arc<Notify>;

    async fn close(&self);
}

/// Knobs for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a connection waits for a locked SQLite database before failing.
    pub busy_timeout_ms: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            busy_timeout_ms: 5_000,
        }
    }
}

/// Opens the store a URL names: `postgres://…` or `postgresql://…` for PostgreSQL,
/// `sqlite://PATH` (or `sqlite:PATH`) for SQLite, creating the file if missing.
/// Does not migrate: call [`Store::migrate`].
pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url, options).await?))
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        Ok(Arc::new(SqliteStore::open(path.as_ref(), options).await?))
    } else {
        Err(StoreError::BadUrl(url.chars().take(16).collect()))
    }
}
