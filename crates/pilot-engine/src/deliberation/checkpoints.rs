//! Driving a `deliberation2` through its checkpoints: the `deliberate` job's work
//! when the deliberation's mode pauses for a person.
//!
//! Each claim of the job looks at the deliberation's latest checkpoint:
//!
//! * none: the first stretch runs ([`Pipeline::advance`] from the start);
//! * open (unanswered, not expired): the job snoozes until it expires — it holds
//!   no worker while the person thinks; an answer moves the job's `run_at` to now
//!   (`CheckpointStore::answer_checkpoint`);
//! * expired unanswered: the deliberation fails `checkpoint_expired`, refunded in
//!   full;
//! * answered: the next stretch runs from the checkpoint's stored state and the
//!   answer.
//!
//! A stretch that ends at a checkpoint opens it (keyed on its `seq`, so a retried
//! job finds the one it opened) and snoozes; one that ends the deliberation settles
//! it as every mode does ([`super::driver::settle`]). A process killed mid-stretch
//! loses only that stretch: the job's lease runs out, and the stretch runs again
//! from the last checkpoint.

use pilot_domain::{CheckpointAnswer, FailureCode};
use pilot_store::{CheckpointRecord, DeliberationRecord, NewCheckpoint, PanelEntry};
use serde_json::json;

use super::dream_team::{self, Advanced};
use super::driver::{DeliberationDeps, StoreRecorder, settle, store_error};
use super::pipeline::{PipelineError, PipelineFailure};
use super::recorder::PanelRecorder;
use crate::job::{JobError, JobOutcome};

/// One claim's worth of deliberation `record`.
pub(super) async fn drive(
    deps: &DeliberationDeps,
    record: &DeliberationRecord,
    recorder: &StoreRecorder<'_>,
) -> Result<JobOutcome, JobError> {
    let store = deps.store.as_ref();
    let now = deps.clock.now();
    let latest = store
        .latest_checkpoint(&record.id)
        .await
        .map_err(store_error)?;
    let at = match &latest {
        None => None,
        Some(checkpoint) if checkpoint.answer.is_none() => {
            if checkpoint.is_open(now) {
                return Ok(JobOutcome::SnoozeUntil(checkpoint.expires_at));
            }
            tracing::info!(
                deliberation = %record.id, checkpoint = %checkpoint.id,
                "a checkpoint expired unanswered"
            );
            let expired = Err(PipelineError::Failed(PipelineFailure {
                code: FailureCode::CheckpointExpired,
                reason: format!("checkpoint {} expired unanswered", checkpoint.id),
                cost_so_far: dream_team::spent_before(&checkpoint.state),
            }));
            return settle(deps, &record.id, expired).await;
        }
        Some(checkpoint) => Some(answered(checkpoint, recorder, now).await?),
    };
    let advanced = deps.pipeline.advance(record, recorder, at).await;
    match advanced {
        Ok(Advanced::Paused(pause)) => {
            let ttl = deps
                .pipeline
                .config
                .checkpoint_ttl_secs
                .saturating_mul(1000);
            let expires_at = now.plus_ms(i64::try_from(ttl).unwrap_or(i64::MAX));
            let new = NewCheckpoint {
                id: format!("chk_{}", ulid::Ulid::new()),
                seq: pause.seq,
                kind: pause.offer.kind,
                offer: serde_json::to_value(&pause.offer).map_err(store_error)?,
                state: pause.state,
                expires_at,
            };
            let opened = store
                .open_checkpoint(&record.id, &new, now)
                .await
                .map_err(store_error)?;
            tracing::info!(
                deliberation = %record.id, checkpoint = %opened.id, kind = %opened.kind,
                "the panel waits at a checkpoint"
            );
            Ok(JobOutcome::SnoozeUntil(opened.expires_at))
        }
        Ok(Advanced::Completed(outcome)) => settle(deps, &record.id, Ok(outcome)).await,
        Err(error) => settle(deps, &record.id, Err(error)).await,
    }
}

/// The answered checkpoint as the next stretch reads it, the answer recorded among
/// the panel's work (stage `checkpoint`, author `person`; again if the stretch is
/// retried, as every entry of a retried stretch is).
async fn answered<'c>(
    checkpoint: &'c CheckpointRecord,
    recorder: &StoreRecorder<'_>,
    now: pilot_domain::UnixMillis,
) -> Result<(i32, &'c serde_json::Value, CheckpointAnswer), JobError> {
    let stored = checkpoint.answer.clone().unwrap_or_default();
    let answer: CheckpointAnswer = serde_json::from_value(stored.clone())
        .map_err(|e| JobError::Permanent(format!("checkpoint {}: {e}", checkpoint.id)))?;
    let entry = PanelEntry {
        stage: "checkpoint".to_owned(),
        author: "person".to_owned(),
        content: json!({"checkpoint": checkpoint.id, "kind": checkpoint.kind, "answer": stored}),
        created_at: checkpoint.answered_at.unwrap_or(now),
    };
    recorder
        .record(&entry)
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?;
    Ok((checkpoint.seq, &checkpoint.state, answer))
}
