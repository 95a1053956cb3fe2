//! The Pilots half of the store: pilots, their runs and step results, and workspace
//! secrets.
//!
//! Every tenant method takes the `(workspace, environment)` it is scoped to and puts
//! both in its `WHERE` clause. Methods that the worker calls on a run it was handed by
//! the queue (`load_run`, `record_progress`) are keyed by the run id
//! alone: the queue is not tenant-facing, and the job carries only the id.
//!
//! A run is accepted only once committed: [`RunStore::create_run`] inserts the run and
//! its `run_pilot` job in one transaction, after checking in that same transaction
//! that the pilot exists and is active.

use async_trait::async_trait;
use pilot_domain::{
    ApiKeyId, CatchUp, Environment, FiredBy, JobId, PilotId, PilotStatus, RunId, RunStatus,
    StepStatus, TriggerType, UnixMillis, WorkspaceId,
};
use serde_json::Value;

use crate::dashboard::{RunSummaryRecord, TenantRunsFilter};
use crate::error::StoreResult;

/// The job kind that runs a pilot run; its payload is `{"run_id": N}`.
pub const RUN_JOB_KIND: &str = "run_pilot";

#[derive(Clone, Debug, PartialEq)]
pub struct PilotRecord {
    pub id: PilotId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub title: String,
    pub description: String,
    pub status: PilotStatus,
    pub trigger_type: TriggerType,
    /// The validated step list as JSON (`pilot_domain::Steps::parse` reads it back).
    pub steps: Value,
    pub schedule_cron: Option<String>,
    pub schedule_timezone: Option<String>,
    pub next_fire_at: Option<UnixMillis>,
    /// The webhook trigger's token, sealed under the master key.
    pub webhook_token_sealed: Option<String>,
    /// The email trigger's address local part (unique across the server).
    pub email_address: Option<String>,
    pub run_count: i64,
    pub last_run_at: Option<UnixMillis>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    /// The API key that last set the steps (`None`: set before keys were recorded).
    /// Every run is authorised by it: see [`RunRecord::authorized_key_id`].
    pub steps_key_id: Option<ApiKeyId>,
    /// Where the pilot's `run.completed` / `run.failed` events are delivered (`None`:
    /// nowhere). Validated by the caller.
    pub notify_url: Option<String>,
    /// A webhook pilot's sender verification, as the operations wrote it (JSON, its
    /// secret sealed); `None`: senders are not verified.
    pub webhook_verification: Option<String>,
    /// What the schedule does with missed ticks (`one` for other triggers).
    pub schedule_catch_up: CatchUp,
}

/// Everything a new pilot is made of; `trigger` settings are already validated.
#[derive(Clone, Debug)]
pub struct NewPilot {
    pub title: String,
    pub description: String,
    pub status: PilotStatus,
    pub trigger: PilotTrigger,
    pub steps: Value,
    /// The key creating the pilot: it sets the steps.
    pub steps_key_id: Option<ApiKeyId>,
    /// See [`PilotRecord::notify_url`].
    pub notify_url: Option<String>,
    /// See [`PilotRecord::webhook_verification`].
    pub webhook_verification: Option<String>,
}

/// A pilot's trigger as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PilotTrigger {
    /// `None` stores `manual`, the default trigger.
    pub trigger_type: Option<TriggerType>,
    pub schedule_cron: Option<String>,
    pub schedule_timezone: Option<String>,
    /// `None` stores NULL, read back as `one`.
    pub schedule_catch_up: Option<CatchUp>,
    pub next_fire_at: Option<UnixMillis>,
    /// SHA-256 hex digest of the webhook token, for lookup by inbound URL.
    pub webhook_token_digest: Option<String>,
    pub webhook_token_sealed: Option<String>,
    pub email_address: Option<String>,
}

/// A partial update; `None` leaves a field as it is. A `Some(trigger)` replaces
/// every trigger column.
#[derive(Clone, Debug, Default)]
pub struct PilotPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<PilotStatus>,
    pub steps: Option<Value>,
    /// With `steps`: the key setting them, recorded as the pilot's `steps_key_id`.
    /// Without `steps` the recorded key stays.
    pub steps_key_id: Option<ApiKeyId>,
    pub trigger: Option<PilotTrigger>,
    /// `Some(None)` clears the notify URL, `Some(Some(url))` sets it.
    pub notify_url: Option<Option<String>>,
    /// `Some(None)` clears the sender verification, `Some(Some(json))` sets it.
    pub webhook_verification: Option<Option<String>>,
}

/// What a new run is fired with.
#[derive(Clone, Copy, Debug)]
pub struct NewRun<'a> {
    pub fired_by: FiredBy,
    /// The trigger payload.
    pub payload: &'a Value,
    /// See [`RunRecord::request`].
    pub request: Option<&'a Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub id: RunId,
    pub pilot_id: PilotId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub status: RunStatus,
    /// The pilot's trigger type when the run was fired (a retry keeps its original's).
    pub trigger_type: TriggerType,
    /// What fired it.
    pub fired_by: FiredBy,
    pub payload: Value,
    /// A webhook run's request besides its body (method, query, content type,
    /// headers without credentials); a retry keeps its original's. `None` for runs
    /// not fired by a webhook.
    pub request: Option<Value>,
    /// The pilot's steps when the run was fired: later edits do not change a run.
    pub steps: Value,
    pub error: Option<String>,
    pub created_at: UnixMillis,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
    /// For retries: the run this one repeats.
    pub retry_of: Option<RunId>,
    /// The key that authorised the run's steps: the pilot's `steps_key_id` when the
    /// run was fired (by any trigger), or the original run's for a retry. A
    /// `deliberate` step submits only while this key exists, is not revoked and holds
    /// `deliberations:write`, and its deliberation carries it.
    pub authorized_key_id: Option<ApiKeyId>,
}

/// One step's result, written as the step ends.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResultRecord {
    /// The step's position in the run's step list.
    pub index: i32,
    pub step_id: String,
    pub step_type: String,
    pub status: StepStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub attempts: i32,
    pub started_at: UnixMillis,
    pub duration_ms: i64,
}

/// What changed in a run since its last write, written together by
/// [`RunStore::record_progress`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunProgress {
    /// The run's status after this write, when it changes.
    pub status: Option<RunStatus>,
    /// When the run started; kept only if it has no start yet (a resumed run keeps
    /// its first).
    pub started_at: Option<UnixMillis>,
    /// Results of steps that ended, in the order they ended.
    pub steps: Vec<StepResultRecord>,
    /// A failed run's reason.
    pub error: Option<String>,
    /// When the run reached a terminal status.
    pub finished_at: Option<UnixMillis>,
    /// With a terminal status: the run's job, still leased by its worker, which leaves
    /// the queue in this same write — the run's end frees its slot under the
    /// workspace cap at once, and the worker has nothing left to settle. Ignored
    /// without a terminal status; a lease lost meanwhile deletes nothing.
    pub completes: Option<JobLease>,
}

/// A job as its worker holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLease {
    pub job: JobId,
    pub owner: String,
}

impl RunProgress {
    pub fn is_empty(&self) -> bool {
        *self == RunProgress::default()
    }

    /// The run ends `status` at `at`, with `error` if it failed.
    pub fn finish(&mut self, status: RunStatus, error: Option<String>, at: UnixMillis) {
        self.status = Some(status);
        self.error = error;
        self.finished_at = Some(at);
    }
}

/// What a worker needs to drive a run: the run with its results so far, and its
/// tenant's secrets, sealed: `(name, sealed)` by name.
#[derive(Clone, Debug, PartialEq)]
pub struct RunWork {
    pub detail: RunDetail,
    pub sealed_secrets: Vec<(String, String)>,
}

/// A run with its step results, in step order.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDetail {
    pub run: RunRecord,
    pub steps: Vec<StepResultRecord>,
}

// A run is returned once per call: boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum CreateRun {
    Created(RunRecord),
    PilotNotFound,
    PilotPaused,
}

/// How a retry starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryFrom {
    /// From the first step, with the original payload.
    Start,
    /// At the step that failed, keeping the earlier steps' results.
    FailedStep,
}

// A run is returned once per call: boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum RetryRun {
    Created(RunRecord),
    RunNotFound,
    /// `FailedStep` asked of a run that has no failed step.
    NoFailedStep,
    /// The run has not finished yet.
    NotFinished,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRecord {
    pub name: String,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

#[async_trait]
pub trait PilotStore {
    async fn create_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot: &NewPilot,
        now: UnixMillis,
    ) -> StoreResult<PilotRecord>;

    /// Newest first.
    async fn list_pilots(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<PilotRecord>>;

    async fn get_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
    ) -> StoreResult<Option<PilotRecord>>;

    async fn update_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
        patch: &PilotPatch,
        now: UnixMillis,
    ) -> StoreResult<Option<PilotRecord>>;

    /// Deletes the pilot with its runs and their step results.
    async fn delete_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
    ) -> StoreResult<bool>;

    /// The pilot whose webhook token has this digest (any workspace: the token is the
    /// credential).
    async fn find_pilot_by_webhook(&self, token_digest: &str) -> StoreResult<Option<PilotRecord>>;

    /// The pilot with this email trigger address.
    async fn find_pilot_by_email(&self, address: &str) -> StoreResult<Option<PilotRecord>>;

    /// Active schedule pilots whose `next_fire_at` is at or before `now`, oldest first.
    async fn due_schedules(&self, now: UnixMillis, limit: u32) -> StoreResult<Vec<PilotRecord>>;

    /// Fires one schedule tick exactly once across nodes: moves `next_fire_at` from
    /// `expected` to `next` and creates the run (with its job) in one transaction.
    /// `None` if another node fired this tick first (or the pilot changed).
    async fn fire_schedule(
        &self,
        pilot_id: PilotId,
        expected: UnixMillis,
        next: Option<UnixMillis>,
        payload: &Value,
        now: UnixMillis,
    ) -> StoreResult<Option<RunRecord>>;

    /// Skips a missed tick (a schedule with `catch_up: none`): moves `next_fire_at`
    /// from `expected` to `next` without a run. `false` if another node moved it
    /// first.
    async fn skip_schedule_tick(
        &self,
        pilot_id: PilotId,
        expected: UnixMillis,
        next: Option<UnixMillis>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait RunStore {
    /// Creates a queued run and its job in one transaction; the pilot must exist in
    /// that tenant and be active. Bumps the pilot's run count and last run time. The
    /// run's trigger type is the pilot's, read in the same transaction.
    async fn create_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot_id: PilotId,
        run: &NewRun<'_>,
        now: UnixMillis,
    ) -> StoreResult<CreateRun>;

    async fn get_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: RunId,
    ) -> StoreResult<Option<RunDetail>>;

    /// A pilot's runs, newest first, older than `before` when given.
    async fn list_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot_id: PilotId,
        before: Option<RunId>,
        limit: u32,
    ) -> StoreResult<Vec<RunDetail>>;

    /// The tenant's runs across its pilots that `filter` picks, newest first, each
    /// with its pilot's title (one query, joined).
    async fn list_tenant_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        filter: &TenantRunsFilter,
        limit: u32,
    ) -> StoreResult<Vec<RunSummaryRecord>>;

    /// A new run repeating `id`, queued with its job in one transaction.
    async fn retry_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: RunId,
        from: RetryFrom,
        now: UnixMillis,
    ) -> StoreResult<RetryRun>;

    /// For the worker: the run and the results recorded so far.
    async fn load_run(&self, id: RunId) -> StoreResult<Option<RunDetail>>;

    /// For the worker, in one round trip: the run, the results recorded so far, and
    /// its tenant's sealed secrets.
    async fn load_run_work(&self, id: RunId) -> StoreResult<Option<RunWork>>;

    /// Records a run's progress in one transaction: its step results (each replacing
    /// an earlier attempt's at that index) and the run's columns that change with
    /// them. Nothing is written when `progress` is empty.
    async fn record_progress(&self, id: RunId, progress: &RunProgress) -> StoreResult<()>;
}

#[async_trait]
pub trait SecretStore {
    /// Creates or replaces a secret; `true` if it was created.
    async fn put_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        name: &str,
        sealed_value: &str,
        now: UnixMillis,
    ) -> StoreResult<bool>;

    /// Names and dates only, by name.
    async fn list_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<SecretRecord>>;

    async fn delete_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        name: &str,
    ) -> StoreResult<bool>;

    /// Every secret's sealed value, for a run of that tenant: `(name, sealed)`.
    async fn sealed_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<(String, String)>>;
}
