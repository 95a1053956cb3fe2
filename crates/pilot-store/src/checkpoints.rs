//! The checkpoints of `deliberation2` deliberations: where a panel waits for a
//! person.
//!
//! A deliberation has at most one open checkpoint — its latest, unanswered — and the
//! job driving it is snoozed until that checkpoint expires. Opening is keyed on
//! (deliberation, `seq`), so a job retried after it opened one finds it rather than
//! opening another. Answering stores the answer and moves the job's `run_at` to now
//! in one transaction, so an accepted answer always resumes the panel. It does so
//! only while that job is queued (snoozed): while it runs — between opening the
//! checkpoint and snoozing, a few milliseconds — the answer is refused as
//! [`AnswerCheckpoint::Busy`] and the caller tries again, so no wake-up is ever
//! written over by the snooze. A deliberation whose job is gone (buried) gets a new
//! one.

use async_trait::async_trait;
use pilot_domain::{
    CheckpointKind, DeliberationId, DeliberationStatus, Environment, UnixMillis, WorkspaceId,
};
use serde_json::Value;

use crate::error::StoreResult;

#[derive(Clone, Debug, PartialEq)]
pub struct NewCheckpoint {
    /// `chk_` + ULID.
    pub id: String,
    /// 1 for the first checkpoint of a deliberation, then 2, 3 …
    pub seq: i32,
    pub kind: CheckpointKind,
    /// What the person is shown and may choose (`CheckpointOffer`).
    pub offer: Value,
    /// What the panel needs to go on from here: its work so far and what it spent.
    pub state: Value,
    pub expires_at: UnixMillis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointRecord {
    pub id: String,
    pub deliberation_id: DeliberationId,
    pub seq: i32,
    pub kind: CheckpointKind,
    pub offer: Value,
    pub state: Value,
    /// The person's answer (`CheckpointAnswer`), once given.
    pub answer: Option<Value>,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub answered_at: Option<UnixMillis>,
}

impl CheckpointRecord {
    /// Open: not answered, and not yet expired at `now`.
    pub fn is_open(&self, now: UnixMillis) -> bool {
        self.answer.is_none() && now < self.expires_at
    }
}

/// What answering a checkpoint did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerCheckpoint {
    /// Stored, and the panel's job woken.
    Answered,
    /// No such checkpoint of this tenant's deliberation.
    Unknown,
    /// Answered already, or no longer the deliberation's latest, or the deliberation
    /// ended.
    Closed,
    /// Its time ran out.
    Expired,
    /// The panel's job is running this instant; nothing was written: try again.
    Busy,
}

/// What an answer to `checkpoint_id` meets, judged by both backends alike from the
/// deliberation's `status` and `latest` checkpoint, before anything is written.
pub(crate) enum Verdict {
    /// Open and the latest: wake the job and store the answer.
    Write,
    Refuse(AnswerCheckpoint),
    /// Not the latest: `Closed` if it is an earlier checkpoint of this deliberation,
    /// else `Unknown` (the backend looks).
    NotTheLatest,
}

pub(crate) fn judge(
    status: &str,
    latest: Option<&CheckpointRecord>,
    checkpoint_id: &str,
    now: UnixMillis,
) -> Verdict {
    let Some(latest) = latest else {
        return Verdict::Refuse(AnswerCheckpoint::Unknown);
    };
    if latest.id != checkpoint_id {
        return Verdict::NotTheLatest;
    }
    let ended = status
        .parse::<DeliberationStatus>()
        .is_ok_and(DeliberationStatus::is_terminal);
    if latest.answer.is_some() || ended {
        return Verdict::Refuse(AnswerCheckpoint::Closed);
    }
    if now >= latest.expires_at {
        return Verdict::Refuse(AnswerCheckpoint::Expired);
    }
    Verdict::Write
}

#[async_trait]
pub trait CheckpointStore {
    /// Opens checkpoint `new.seq` of deliberation `id`, or finds the one opened
    /// already with that `seq`: the stored checkpoint either way.
    async fn open_checkpoint(
        &self,
        id: &DeliberationId,
        new: &NewCheckpoint,
        now: UnixMillis,
    ) -> StoreResult<CheckpointRecord>;

    /// The deliberation's latest checkpoint, answered or not.
    async fn latest_checkpoint(&self, id: &DeliberationId)
    -> StoreResult<Option<CheckpointRecord>>;

    /// Answers checkpoint `checkpoint_id` of deliberation `id`, which must be the
    /// tenant's (`workspace_id`, `environment`), open and the deliberation's latest;
    /// wakes the deliberation's job in the same transaction (see the module).
    async fn answer_checkpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliberationId,
        checkpoint_id: &str,
        answer: &Value,
        now: UnixMillis,
    ) -> StoreResult<AnswerCheckpoint>;
}
