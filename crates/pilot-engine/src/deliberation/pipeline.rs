//! [`Pipeline`]: turns a queued deliberation into its result, or a failure.
//!
//! `deliberation1` runs the panel's stages ([`super::stages`]): answers, then the
//! quorum check, reviews, a revision round when the panel is split (or the question
//! is `HARD`), and the arbiter's synthesis; `smartroute1` is one `router` call whose
//! self-rated confidence is capped. The whole run is bounded by
//! `processing_budget_ms`; past it the run is dropped mid-call and fails with
//! `processing_timeout`. The cost is the sum of every answered call's cost, usable
//! or not — what the model layer metered.
//!
//! Failures, by cause:
//!
//! | cause | code |
//! | --- | --- |
//! | fewer valid first answers than `quorum`, every failure a timeout | `processing_timeout` |
//! | fewer valid first answers than `quorum`, otherwise | `processing_failed` |
//! | the arbiter or router timed out | `processing_timeout` |
//! | the arbiter or router failed otherwise, or answered out of shape | `processing_failed` |
//! | the processing budget ran out | `processing_timeout` |
//!
//! A failed review or revision costs the panel only that piece of work.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pilot_domain::{Credits, Difficulty, FailureCode, Mode};
use pilot_models::{Models, Role};
use pilot_store::{DeliberationRecord, DeliberationResult};
use serde_json::json;

use super::answers::Routed;
use super::calls::{CallFailure, Run, Spent, Stage};
use super::confidence::round1;
use super::config::DeliberationsConfig;
use super::recorder::{PanelRecorder, RecordError};
use super::{prompts, stages};
use crate::clock::Clock;

/// Runs deliberations. Cheap to share behind an `Arc`.
pub struct Pipeline {
    pub models: Arc<Models>,
    pub config: DeliberationsConfig,
    /// Stamps panel entries.
    pub clock: Arc<dyn Clock>,
}

/// A completed deliberation: its result and what its calls cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub result: DeliberationResult,
    pub cost: Credits,
}

/// A failed deliberation: the code its client sees, why (for logs), and what was
/// spent before it failed (metered; the client is refunded in full).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct PipelineFailure {
    pub code: FailureCode,
    pub reason: String,
    pub cost_so_far: Credits,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PipelineError {
    /// The deliberation failed: mark it failed.
    #[error("the deliberation failed: {0}")]
    Failed(PipelineFailure),
    /// The panel's work could not be recorded: nothing is decided; try again later.
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// Why the stages stopped early (the budget aside).
#[derive(Debug)]
pub enum Stop {
    Fail { code: FailureCode, reason: String },
    Record(RecordError),
}

impl From<RecordError> for Stop {
    fn from(error: RecordError) -> Self {
        Stop::Record(error)
    }
}

impl Stop {
    /// A single call the deliberation cannot do without (arbiter, router) failed.
    pub fn call_failed(who: &str, failure: &CallFailure) -> Stop {
        let code = if failure.is_timeout() {
            FailureCode::ProcessingTimeout
        } else {
            FailureCode::ProcessingFailed
        };
        Stop::Fail {
            code,
            reason: format!("{who} failed: {failure}"),
        }
    }
}

impl Pipeline {
    pub fn new(
        models: Arc<Models>,
        config: DeliberationsConfig,
        clock: Arc<dyn Clock>,
    ) -> Pipeline {
        Pipeline {
            models,
            config,
            clock,
        }
    }

    /// Runs `record` to its result, recording each call's outcome as it ends.
    /// (`deliberation2` pauses at checkpoints: [`Pipeline::advance`] runs it.)
    pub async fn run(
        &self,
        record: &DeliberationRecord,
        recorder: &dyn PanelRecorder,
    ) -> Result<Outcome, PipelineError> {
        let spent = Spent::default();
        let run = Run {
            pipeline: self,
            record,
            recorder,
            spent: &spent,
        };
        let result = self.budgeted(&spent, self.stages(&run)).await?;
        Ok(Outcome {
            result,
            cost: spent.total(),
        })
    }

    /// `work` under the processing budget; a failure carries what `spent` holds.
    pub(super) async fn budgeted<T>(
        &self,
        spent: &Spent,
        work: impl Future<Output = Result<T, Stop>>,
    ) -> Result<T, PipelineError> {
        let budget = Duration::from_millis(self.config.processing_budget_ms.max(1));
        let stopped = match tokio::time::timeout(budget, work).await {
            Ok(Ok(done)) => return Ok(done),
            Ok(Err(stop)) => stop,
            Err(_) => Stop::Fail {
                code: FailureCode::ProcessingTimeout,
                reason: format!("the processing budget of {} ms ran out", budget.as_millis()),
            },
        };
        match stopped {
            Stop::Record(error) => Err(PipelineError::Record(error)),
            Stop::Fail { code, reason } => Err(PipelineError::Failed(PipelineFailure {
                code,
                reason,
                cost_so_far: spent.total(),
            })),
        }
    }

    async fn stages(&self, run: &Run<'_>) -> Result<DeliberationResult, Stop> {
        match run.record.mode {
            Mode::Deliberation1 => self.deliberate(run).await,
            Mode::Smartroute1 => self.route(run).await,
            Mode::Deliberation2 => Err(Stop::Fail {
                code: FailureCode::ProcessingFailed,
                reason: "deliberation2 pauses at checkpoints: it is advanced, not run".into(),
            }),
        }
    }

    async fn deliberate(&self, run: &Run<'_>) -> Result<DeliberationResult, Stop> {
        let panel = self.config.panel(run.record.use_case);
        let (mut members, failures) = stages::answers(run, &panel).await?;
        stages::check_quorum(members.len(), panel.len(), self.config.quorum, &failures)?;
        stages::reviews(run, &mut members).await?;
        let first: Vec<_> = members.iter().map(|m| m.first.stance).collect();
        let revise = stages::needs_revision(
            &first,
            run.record.difficulty == Difficulty::Hard,
            self.config.revision_split_threshold,
        );
        if revise {
            stages::revisions(run, &mut members, |_| true).await?;
        }
        let synthesis = stages::synthesis(run, &members, panel.len()).await?;
        let (confidence_index, confidence_inputs) = stages::assess(&members, panel.len(), revise);
        Ok(DeliberationResult {
            synthesis: self.label(run, Role::Arbiter, synthesis.synthesis),
            summary: synthesis.summary,
            minority_report: synthesis.minority_report,
            confidence_index,
            confidence_inputs,
            degraded: members.len() < panel.len(),
        })
    }

    async fn route(&self, run: &Run<'_>) -> Result<DeliberationResult, Stop> {
        let routed = run
            .ask(
                Stage::Routed,
                "router",
                Role::Router,
                prompts::routed(run.record),
                Routed::from_json,
                |routed| json!(routed),
            )
            .await?
            .map_err(|failure| Stop::call_failed("the router", &failure))?;
        let cap = self.config.smartroute_confidence_cap;
        Ok(DeliberationResult {
            synthesis: self.label(run, Role::Router, routed.answer),
            summary: routed.summary,
            minority_report: None,
            confidence_index: round1(routed.confidence.min(cap)),
            confidence_inputs: json!({
                "formula": "smartroute-v1",
                "self_confidence": routed.confidence,
                "cap": cap,
            }),
            degraded: false,
        })
    }

    /// Marks text the built-in scripted model wrote, so no reader mistakes it for a
    /// real model's words (DESIGN §5).
    pub(super) fn label(&self, run: &Run<'_>, role: Role, text: String) -> String {
        let scripted = self
            .models
            .route(run.record.environment, &role, None)
            .is_ok_and(|route| route.provider == "scripted");
        if scripted && !text.starts_with("[scripted]") {
            format!("[scripted] {text}")
        } else {
            text
        }
    }
}
