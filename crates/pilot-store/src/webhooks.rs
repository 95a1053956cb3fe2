//! Webhooks out: endpoints, deliveries and their attempts, and the tenants' signing
//! secrets for run events.
//!
//! A delivery is written in the same transaction as the terminal state it reports —
//! by `complete_deliberation` / `fail_deliberation` for a deliberation with a
//! `webhook_url`, and by `record_progress` (or a buried run job) for a run whose
//! pilot has a `notify_url` — with its endpoint (created on first use) and, when
//! the endpoint is enabled, its `deliver_webhook` job. A delivery for a disabled
//! endpoint is written `disabled`, without a job: it waits, and
//! [`WebhookStore::enable_endpoint`] sends it on its way. Nothing accepted is
//! dropped.
//!
//! Each attempt's outcome is recorded in one transaction with what it does to the
//! delivery (its state and next attempt) and to the endpoint (consecutive
//! failures, auto-disable at [`AUTO_DISABLE_AFTER`], `410 Gone`).
//!
//! [`AUTO_DISABLE_AFTER`]: pilot_domain::webhook::AUTO_DISABLE_AFTER

use async_trait::async_trait;
use pilot_domain::webhook::{
    DeliveryId, DeliveryState, DisabledReason, EndpointId, EndpointState, EventId, EventKind,
    Verdict,
};
use pilot_domain::{ApiKeyId, Environment, UnixMillis, WorkspaceId};
use serde_json::Value;

use crate::error::StoreResult;

/// The job kind that makes one attempt; its payload is [`DeliveryJob`].
pub const DELIVERY_JOB_KIND: &str = "deliver_webhook";
/// How often a delivery job may be claimed before it is buried. Only crashes and
/// store faults count (the schedule's waits are snoozes, and an attempt's failure is
/// recorded on the delivery, not the job), and the queue's backoff grows to an hour,
/// so this is weeks of a store that cannot record an attempt: a buried job would
/// leave its delivery `pending` with nothing to send it, so it is made as unlikely
/// as a bound allows.
pub const DELIVERY_JOB_MAX_ATTEMPTS: i32 = 1_000;

/// A `deliver_webhook` job's payload.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeliveryJob {
    pub delivery_id: DeliveryId,
    /// A manual attempt (replay, recover): one attempt now, outside the schedule.
    #[serde(default)]
    pub manual: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EndpointRecord {
    pub id: EndpointId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub url: String,
    pub state: EndpointState,
    pub disabled_reason: Option<DisabledReason>,
    pub consecutive_failures: i64,
    pub last_success_at: Option<UnixMillis>,
    pub last_failure_at: Option<UnixMillis>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub event: EventKind,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub endpoint_id: EndpointId,
    /// The endpoint's URL.
    pub url: String,
    /// Whose webhook secret signs it: the submitting key's, or (`None`) the tenant's
    /// signing secret (run events).
    pub key_id: Option<ApiKeyId>,
    /// The event body's `data` (a deliberation's without `result_url`).
    pub payload: Value,
    /// When the event happened: the body's `created_at`.
    pub event_at: UnixMillis,
    pub state: DeliveryState,
    /// Attempts made, manual ones included: the last `X-Pilot5-Attempt`.
    pub attempts: i64,
    /// Attempts of the schedule (the first and its retries).
    pub scheduled_attempts: i64,
    /// When the schedule's next attempt is due (`pending` only).
    pub next_attempt_at: Option<UnixMillis>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// One attempt as made.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRecord {
    /// Its `X-Pilot5-Attempt`.
    pub number: i64,
    pub manual: bool,
    pub started_at: UnixMillis,
    /// The response's status, if one came back.
    pub status: Option<i64>,
    /// The first [`RESPONSE_EXCERPT_BYTES`] of the response body (lossy UTF-8).
    ///
    /// [`RESPONSE_EXCERPT_BYTES`]: pilot_domain::webhook::RESPONSE_EXCERPT_BYTES
    pub response_excerpt: Option<String>,
    pub latency_ms: i64,
    /// Why no usable response came back (refused address, timeout, network), or
    /// what made a response a failure.
    pub error: Option<String>,
}

/// What the sender needs for an attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryWork {
    pub delivery: DeliveryRecord,
    pub endpoint_state: EndpointState,
    /// The signing secret, sealed: the key's webhook secret or the tenant's.
    pub sealed_secret: Option<String>,
}

/// An attempt's outcome, for [`WebhookStore::record_attempt`].
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptOutcome {
    pub attempt: AttemptRecord,
    pub verdict: Verdict,
    /// For a scheduled attempt whose verdict is `Retry`: when the next one is due,
    /// or `None` when that was the last retry (the delivery is dead).
    pub retry_at: Option<UnixMillis>,
}

/// What recording an attempt did.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedAttempt {
    /// The delivery's state now.
    pub state: DeliveryState,
    pub next_attempt_at: Option<UnixMillis>,
    /// The endpoint's state now (disabled by this attempt, perhaps).
    pub endpoint_state: EndpointState,
}

/// Which deliveries a listing wants, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryQuery {
    pub state: Option<DeliveryState>,
    pub endpoint_id: Option<EndpointId>,
    /// Only deliveries created before this one (the previous page's last).
    pub before: Option<DeliveryId>,
    pub limit: u32,
}

#[async_trait]
pub trait WebhookStore {
    /// For the sender, by id alone.
    async fn load_delivery_work(&self, id: &DeliveryId) -> StoreResult<Option<DeliveryWork>>;

    /// Records one attempt and its consequences in one transaction (see the
    /// module's docs). A manual attempt never moves the schedule: it can only make
    /// the delivery `succeeded`. `None` if the delivery does not exist.
    async fn record_attempt(
        &self,
        id: &DeliveryId,
        outcome: &AttemptOutcome,
        now: UnixMillis,
    ) -> StoreResult<Option<RecordedAttempt>>;

    /// A `pending` delivery whose endpoint is disabled becomes `disabled`, to wait
    /// for the endpoint; `false` (nothing written) if it is not pending or the
    /// endpoint is enabled after all.
    async fn hold_delivery(&self, id: &DeliveryId, now: UnixMillis) -> StoreResult<bool>;

    async fn list_deliveries(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>>;

    /// A delivery with its attempts, oldest first.
    async fn get_delivery(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliveryId,
    ) -> StoreResult<Option<(DeliveryRecord, Vec<AttemptRecord>)>>;

    /// Queues one manual attempt now; the delivery as it stands, or `None`.
    async fn replay_delivery(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliveryId,
        now: UnixMillis,
    ) -> StoreResult<Option<DeliveryRecord>>;

    /// Queues a manual attempt for every `dead` or `failed` delivery of the endpoint
    /// created at or after `since`; how many, or `None` if no such endpoint.
    async fn recover_endpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &EndpointId,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<Option<u64>>;

    /// Oldest first.
    async fn list_endpoints(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<EndpointRecord>>;

    /// Enables the endpoint (its failures reset) and sends its `disabled`
    /// deliveries on their way (`pending`, due now, each with its job), in one
    /// transaction. The endpoint and how many deliveries were released, or `None`.
    async fn enable_endpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &EndpointId,
        now: UnixMillis,
    ) -> StoreResult<Option<(EndpointRecord, u64)>>;

    /// The tenant's signing secret for run events, sealed; `candidate` is stored
    /// first if it has none. Returns the one in force.
    async fn ensure_signing_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        candidate_sealed: &str,
        now: UnixMillis,
    ) -> StoreResult<String>;

    /// Replaces the tenant's signing secret (rotation); deliveries signed from now
    /// on use the new one.
    async fn rotate_signing_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        sealed: &str,
        now: UnixMillis,
    ) -> StoreResult<()>;

    /// Deletes attempts made before `before`; returns how many.
    async fn purge_attempts(&self, before: UnixMillis) -> StoreResult<u64>;
}
