//! The Deliberations half of the store: deliberations and their panel's work, the
//! credit ledger, idempotency keys, and the outbox of terminal events.
//!
//! Credits are integer micro-credits ([`Credits`]). The balance of a tenant
//! (`workspace`, `environment`) is a row updated only in the same transaction as the
//! append-only ledger entry that explains it, so the ledger always sums to the
//! balance; a debit is a conditional `UPDATE … WHERE balance >= amount`, so no
//! concurrency can overdraw it.
//!
//! A deliberation is accepted only once committed with its reservation and its job:
//! [`DeliberationStore::create_deliberation`] does all three in one transaction. It
//! reaches a terminal state in one transaction too, with its ledger settlement and
//! the `deliberation.completed` / `deliberation.failed` event the webhook sender will
//! deliver.

use async_trait::async_trait;
use pilot_domain::{
    ApiKeyId, Credits, DeliberationId, DeliberationStatus, Difficulty, Environment, FailureCode,
    Mode, UnixMillis, UseCase, WorkspaceId,
};
use serde_json::Value;

use crate::dashboard::DeliberationSummaryRecord;
use crate::error::StoreResult;

/// The job kind that runs a deliberation; its payload is `{"deliberation_id": "del_…"}`.
pub const DELIBERATION_JOB_KIND: &str = "deliberate";

#[derive(Clone, Debug, PartialEq)]
pub struct NewDeliberation {
    pub id: DeliberationId,
    /// The API key that submitted it; `None` when a pilot run's `deliberate` step did.
    pub key_id: Option<ApiKeyId>,
    pub mode: Mode,
    pub use_case: UseCase,
    pub difficulty: Difficulty,
    pub question: String,
    pub webhook_url: Option<String>,
    pub metadata: Option<Value>,
    /// Reserved now; settled on completion.
    pub estimate: Credits,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeliberationRecord {
    pub id: DeliberationId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    /// The API key that submitted it; `None` when a pilot run's `deliberate` step did.
    pub key_id: Option<ApiKeyId>,
    pub mode: Mode,
    pub use_case: UseCase,
    pub difficulty: Difficulty,
    pub question: String,
    pub webhook_url: Option<String>,
    pub metadata: Option<Value>,
    pub status: DeliberationStatus,
    pub estimate: Credits,
    /// What was finally debited (`None` until terminal; zero after a full refund).
    pub credits_charged: Option<Credits>,
    /// The arbiter's output and the computed confidence, when completed.
    pub result: Option<DeliberationResult>,
    pub failure: Option<FailureCode>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    pub completed_at: Option<UnixMillis>,
}

/// A completed deliberation's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliberationResult {
    pub synthesis: String,
    pub summary: String,
    pub minority_report: Option<String>,
    /// 0–10, computed in code.
    pub confidence_index: f64,
    /// What `confidence_index` was computed from (agreement, peer scores, spread,
    /// self-confidence, quorum), kept for audit.
    pub confidence_inputs: Value,
    /// Fewer than five personas answered (but at least the quorum).
    pub degraded: bool,
}

#[derive(Clone, Debug, PartialEq)]
// One per submission, matched at once: a box would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum CreateDeliberation {
    Created(DeliberationRecord),
    /// The balance was short: nothing was written.
    InsufficientCredits {
        balance: Credits,
    },
}

/// One piece of a panel's work, recorded as it finishes: a persona's answer, its
/// review of the others, a revision, the arbiter's synthesis, a routed answer.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelEntry {
    /// `answer`, `review`, `revision`, `synthesis`, `routed`.
    pub stage: String,
    /// The persona's name, or `arbiter` / `router`.
    pub author: String,
    pub content: Value,
    pub created_at: UnixMillis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    pub id: i64,
    /// Positive credits the balance, negative debits it.
    pub amount: Credits,
    /// `grant`, `reserve`, `refund`, `charge_adjustment`.
    pub kind: String,
    pub deliberation_id: Option<DeliberationId>,
    pub note: String,
    /// The balance right after this entry.
    pub balance_after: Credits,
    pub created_at: UnixMillis,
}

/// A terminal event waiting for (or past) delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    /// `evt_` + ULID.
    pub id: String,
    pub event: String,
    pub deliberation_id: DeliberationId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    /// The submitting API key, if an API key submitted the deliberation.
    pub key_id: Option<ApiKeyId>,
    pub webhook_url: Option<String>,
    /// The webhook body's `data` (§5) except `result_url`: that depends on the public
    /// base URL, which the store does not know, so the webhook sender adds it.
    pub payload: Value,
    pub created_at: UnixMillis,
}

/// What an `Idempotency-Key` maps to.
#[derive(Clone, Debug, PartialEq)]
pub enum IdempotencyBegin {
    /// First use: the caller owns the key now and must `idempotency_finish` it.
    Started,
    /// The same key and body finished before: replay this response.
    Replay { status: u16, body: Value },
    /// The same key with another body.
    Conflict,
    /// Another request with this key and body is still being handled.
    InFlight,
}

#[async_trait]
pub trait DeliberationStore {
    /// Reserves the estimate, inserts the deliberation (`queued`) and its job, in one
    /// transaction; `InsufficientCredits` writes nothing. A tenant without a balance
    /// has zero; a zero estimate reserves nothing and writes no ledger entry.
    async fn create_deliberation(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        new: &NewDeliberation,
        now: UnixMillis,
    ) -> StoreResult<CreateDeliberation>;

    async fn get_deliberation(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliberationId,
    ) -> StoreResult<Option<DeliberationRecord>>;

    /// For the worker, by id alone.
    async fn load_deliberation(
        &self,
        id: &DeliberationId,
    ) -> StoreResult<Option<DeliberationRecord>>;

    /// `queued` → `running`; a no-op otherwise.
    async fn mark_deliberation_running(
        &self,
        id: &DeliberationId,
        now: UnixMillis,
    ) -> StoreResult<()>;

    async fn record_panel_entry(&self, id: &DeliberationId, entry: &PanelEntry) -> StoreResult<()>;

    /// In creation order.
    async fn panel_entries(&self, id: &DeliberationId) -> StoreResult<Vec<PanelEntry>>;

    /// Completes a deliberation that is not terminal yet: charges `cost`, refunds the
    /// rest of the reservation by a `refund` ledger entry, stores the result, records
    /// the `deliberation.completed` event — in one transaction. The reservation caps
    /// the charge: the tenant was told the estimate at submit, so a cost above it is
    /// absorbed, never debited later (a negative cost counts as zero). `false` if it
    /// was already terminal: nothing is charged or refunded twice.
    async fn complete_deliberation(
        &self,
        id: &DeliberationId,
        result: &DeliberationResult,
        cost: Credits,
        now: UnixMillis,
    ) -> StoreResult<bool>;

    /// Fails it with a full refund (charged zero) and records `deliberation.failed`,
    /// in one transaction. `false` if it was already terminal.
    async fn fail_deliberation(
        &self,
        id: &DeliberationId,
        code: FailureCode,
        now: UnixMillis,
    ) -> StoreResult<bool>;

    /// Events recorded for a deliberation, oldest first.
    async fn deliberation_events(&self, id: &DeliberationId) -> StoreResult<Vec<EventRecord>>;

    /// The tenant's deliberations, newest first (by insertion), with `status` when
    /// given, before the position `before` when given.
    async fn list_deliberations(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        status: Option<DeliberationStatus>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<DeliberationSummaryRecord>>;
}

#[async_trait]
pub trait CreditStore {
    async fn balance(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Credits>;

    /// Adds credits (an operator's grant) and its `grant` ledger entry in one
    /// transaction; returns the new balance. `amount` must be positive: callers
    /// validate it, and the schema refuses anything else (an error, nothing written).
    async fn grant_credits(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        amount: Credits,
        note: &str,
        now: UnixMillis,
    ) -> StoreResult<Credits>;

    /// Newest first.
    async fn ledger(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        limit: u32,
    ) -> StoreResult<Vec<LedgerEntry>> {
        self.ledger_page(workspace_id, environment, None, limit)
            .await
    }

    /// Newest first, entries older than the entry id `before` when given.
    async fn ledger_page(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LedgerEntry>>;
}

#[async_trait]
pub trait IdempotencyStore {
    /// Claims `(scope, key)` for a request whose body hashes to `body_hash`, or says
    /// what an earlier request with that key left. Keys older than `ttl_ms` count as
    /// absent. Of any number of concurrent callers with one key, exactly one is
    /// `Started`; a different body is a `Conflict` even while the first is in flight.
    async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        now: UnixMillis,
        ttl_ms: i64,
    ) -> StoreResult<IdempotencyBegin>;

    /// Stores the response a started key answered with; a key that already has one
    /// keeps it.
    async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &Value,
    ) -> StoreResult<()>;

    /// Forgets a started key whose request failed before answering, so a retry may
    /// run it again. A finished key is kept.
    async fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()>;

    /// Deletes keys created before `before`; returns how many.
    async fn purge_idempotency(&self, before: UnixMillis) -> StoreResult<u64>;
}
