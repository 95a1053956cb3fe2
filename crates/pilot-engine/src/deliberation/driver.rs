//! The `deliberate` job: drives one deliberation from `queued` to `completed` or
//! `failed` ([`drive_deliberation`]).
//!
//! The job carries only the deliberation id. Each time it is claimed, the driver
//! loads the deliberation (gone or already terminal: nothing to do), marks it
//! `running`, runs the [`Pipeline`] — which records the panel's work into the store
//! as each call ends — and settles it: `complete_deliberation` charges the cost (the
//! excess of the reservation refunded) and stores the result; `fail_deliberation`
//! refunds everything. Either also records the terminal event for webhook delivery,
//! in the same transaction.
//!
//! Store errors are the only reason the job itself fails (and is retried by the
//! queue). A retried job runs the pipeline again from the start, after entries the
//! earlier attempt recorded; only the final attempt's cost is charged.
//!
//! A `deliberation2` is driven a stretch at a time, between checkpoints
//! ([`super::checkpoints`]).

use std::sync::Arc;

use async_trait::async_trait;
use pilot_domain::{DeliberationId, Mode};
use pilot_store::{PanelEntry, Store};

use super::checkpoints;
use super::pipeline::{Outcome, Pipeline, PipelineError};
use super::recorder::{PanelRecorder, RecordError};
use crate::clock::Clock;
use crate::job::{JobError, JobOutcome};

/// What driving a deliberation needs.
#[derive(Clone)]
pub struct DeliberationDeps {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub pipeline: Arc<Pipeline>,
}

pub(super) fn store_error(error: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("store: {error}"))
}

/// Records panel entries into the store.
pub(super) struct StoreRecorder<'a> {
    store: &'a dyn Store,
    id: &'a DeliberationId,
}

#[async_trait]
impl PanelRecorder for StoreRecorder<'_> {
    async fn record(&self, entry: &PanelEntry) -> Result<(), RecordError> {
        self.store
            .record_panel_entry(self.id, entry)
            .await
            .map_err(|error| RecordError(error.to_string()))
    }
}

/// Runs deliberation `id` to a terminal state.
pub async fn drive_deliberation(
    deps: &DeliberationDeps,
    id: &DeliberationId,
) -> Result<JobOutcome, JobError> {
    let store = deps.store.as_ref();
    let Some(record) = store.load_deliberation(id).await.map_err(store_error)? else {
        return Ok(JobOutcome::Done);
    };
    if record.status.is_terminal() {
        return Ok(JobOutcome::Done);
    }
    store
        .mark_deliberation_running(id, deps.clock.now())
        .await
        .map_err(store_error)?;
    let recorder = StoreRecorder { store, id };
    if record.mode == Mode::Deliberation2 {
        return checkpoints::drive(deps, &record, &recorder).await;
    }
    let outcome = deps.pipeline.run(&record, &recorder).await;
    settle(deps, id, outcome).await
}

/// Completes or fails deliberation `id` with the pipeline's `outcome`.
pub(super) async fn settle(
    deps: &DeliberationDeps,
    id: &DeliberationId,
    outcome: Result<Outcome, PipelineError>,
) -> Result<JobOutcome, JobError> {
    let store = deps.store.as_ref();
    match outcome {
        Ok(outcome) => {
            tracing::info!(
                deliberation = %id, cost = %outcome.cost,
                confidence = outcome.result.confidence_index, degraded = outcome.result.degraded,
                "deliberation completed"
            );
            store
                .complete_deliberation(id, &outcome.result, outcome.cost, deps.clock.now())
                .await
                .map_err(store_error)?;
        }
        Err(PipelineError::Failed(failure)) => {
            tracing::warn!(
                deliberation = %id, code = %failure.code, reason = %failure.reason,
                spent = %failure.cost_so_far, "deliberation failed"
            );
            store
                .fail_deliberation(id, failure.code, deps.clock.now())
                .await
                .map_err(store_error)?;
        }
        Err(PipelineError::Record(error)) => {
            return Err(JobError::Retryable(error.to_string()));
        }
    }
    Ok(JobOutcome::Done)
}
