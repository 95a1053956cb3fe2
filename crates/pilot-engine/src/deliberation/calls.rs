//! One model call of one stage: bounded by `call_timeout_ms`, metered to the
//! deliberation's tenant, its cost added to the run's tally, its answer parsed and
//! checked, and its outcome recorded as a panel entry.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use pilot_domain::Credits;
use pilot_models::{CallContext, ChatRequest, ModelError, Role, parse_json_answer};
use pilot_store::{DeliberationRecord, PanelEntry};
use serde_json::{Value, json};

use super::pipeline::Pipeline;
use super::recorder::{PanelRecorder, RecordError};

/// The stages, as panel entries and metering owner ids name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Answer,
    Review,
    Revision,
    Synthesis,
    Routed,
    /// `deliberation2`: the router choosing the specialists.
    Specialists,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Answer => "answer",
            Stage::Review => "review",
            Stage::Revision => "revision",
            Stage::Synthesis => "synthesis",
            Stage::Routed => "routed",
            Stage::Specialists => "specialists",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one call gave no usable answer.
#[derive(Debug)]
pub enum CallFailure {
    /// No answer within `call_timeout_ms` (or the model layer's own timeout).
    Timeout,
    /// An answer that is not JSON, or not the shape asked for.
    Invalid(String),
    /// Any other model error (refused, unreachable, filtered, not configured …).
    Model(ModelError),
}

impl CallFailure {
    pub fn is_timeout(&self) -> bool {
        matches!(self, CallFailure::Timeout)
    }

    /// What a panel entry says: a kind, never a provider's message.
    pub fn kind(&self) -> &'static str {
        match self {
            CallFailure::Timeout => "timeout",
            CallFailure::Invalid(_) => "invalid_answer",
            CallFailure::Model(_) => "model_error",
        }
    }
}

impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallFailure::Timeout => f.write_str("timed out"),
            CallFailure::Invalid(why) => write!(f, "invalid answer: {why}"),
            CallFailure::Model(error) => error.fmt(f),
        }
    }
}

/// What a run has spent so far, in micro-credits. Shared by the concurrent calls of
/// a stage, and readable after the run is cut off by its budget.
#[derive(Debug, Default)]
pub struct Spent(AtomicI64);

impl Spent {
    /// A tally that starts from what earlier parts of the run spent.
    pub fn starting_at(before: Credits) -> Spent {
        Spent(AtomicI64::new(before.micros()))
    }

    fn add(&self, cost: Credits) {
        self.0.fetch_add(cost.micros(), Ordering::Relaxed);
    }

    pub fn total(&self) -> Credits {
        Credits::from_micros(self.0.load(Ordering::Relaxed))
    }
}

/// One deliberation being run.
pub struct Run<'a> {
    pub pipeline: &'a Pipeline,
    pub record: &'a DeliberationRecord,
    pub recorder: &'a dyn PanelRecorder,
    pub spent: &'a Spent,
}

impl Run<'_> {
    /// Calls `role` with `request`, checks the answer with `check`, and records the
    /// outcome as `stage` by `author` — `present` renders a good answer for the
    /// entry. Only a failure to record is an `Err`; the call's own failure is the
    /// inner one.
    pub async fn ask<T>(
        &self,
        stage: Stage,
        author: &str,
        role: Role,
        request: ChatRequest,
        check: impl FnOnce(&Value) -> Result<T, String>,
        present: impl FnOnce(&T) -> Value,
    ) -> Result<Result<T, CallFailure>, RecordError> {
        let outcome = self
            .call(stage, author, &role, &request)
            .await
            .and_then(|value| check(&value).map_err(CallFailure::Invalid));
        let content = match &outcome {
            Ok(answer) => present(answer),
            Err(failure) => {
                tracing::warn!(
                    deliberation = %self.record.id, %stage, author, %failure,
                    "a deliberation call failed"
                );
                json!({"error": failure.kind()})
            }
        };
        let entry = PanelEntry {
            stage: stage.as_str().to_owned(),
            author: author.to_owned(),
            content,
            created_at: self.pipeline.clock.now(),
        };
        self.recorder.record(&entry).await?;
        Ok(outcome)
    }

    async fn call(
        &self,
        stage: Stage,
        author: &str,
        role: &Role,
        request: &ChatRequest,
    ) -> Result<Value, CallFailure> {
        let record = self.record;
        let context = CallContext::new(
            record.environment,
            "deliberation_stage",
            format!("{}:{stage}:{author}", record.id),
        )
        .in_workspace(record.workspace_id);
        let limit = Duration::from_millis(self.pipeline.config.call_timeout_ms.max(1));
        let completion = match tokio::time::timeout(
            limit,
            self.pipeline.models.complete(&context, role, request),
        )
        .await
        {
            Err(_) | Ok(Err(ModelError::Timeout(_))) => return Err(CallFailure::Timeout),
            Ok(Err(error)) => return Err(CallFailure::Model(error)),
            Ok(Ok(completion)) => completion,
        };
        // Metered and paid for, whether or not the answer is usable.
        self.spent.add(completion.cost);
        parse_json_answer(&completion.text).map_err(|error| CallFailure::Invalid(error.to_string()))
    }
}
