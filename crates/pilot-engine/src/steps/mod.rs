//! The step catalog's executors: each takes a validated step and the run's
//! templates, and returns the step's output or an error message for the run.
//!
//! `delay` and `deliberate` do not go through [`execute`]: waiting is a matter of the
//! job (a snooze), not of a step's work, so the runner drives them — `delay` itself,
//! `deliberate` through [`deliberate::advance`], which submits the step's
//! deliberation and says whether to wait for it or what the step's result is.

pub mod compute;
pub mod deliberate;
pub mod email;
pub mod http;
pub mod llm;
pub mod template;

use std::sync::Arc;
use std::time::Duration;

use pilot_domain::run::step_idempotency_key;
use pilot_domain::{Environment, RunId, Step, StepKind, UnixMillis, WorkspaceId};
use pilot_models::Models;
use pilot_outbound::OutboundClient;
use serde_json::Value;

use pilot_domain::step_secrets::SECRETS;
use pilot_domain::template::{Form, reads};

use self::deliberate::DeliberationSubmitter;
use self::email::Mailer;
use self::template::Templates;
use crate::deliberation::DeliberationsConfig;

/// What steps reach outside the run.
pub struct StepServices {
    pub models: Arc<Models>,
    pub outbound: Arc<OutboundClient>,
    pub mailer: Arc<Mailer>,
    /// Submits `deliberate` steps' deliberations: the Deliberations API's own
    /// submission, with its scope, rate limit, guardrails and credits
    /// ([`deliberate::submitter`]).
    pub submitter: Arc<dyn DeliberationSubmitter>,
    /// For `deliberate` steps: the processing budget, past which a deliberation that
    /// never ends fails the step — the API's own `[deliberations]`.
    pub deliberations: DeliberationsConfig,
    /// How often a run waiting on a `deliberate` step's deliberation wakes to look
    /// at it (`[pilots] deliberate_poll_ms`).
    pub deliberate_poll: Duration,
}

/// What an `email` step's output shows for a field rendered from secrets.
pub const SENT_NOT_KEPT: &str = "[rendered from secrets: sent, not kept]";

/// Which step of whose run is executing: for metering, scoping, and an `http`
/// step's `Idempotency-Key`.
#[derive(Clone, Copy, Debug)]
pub struct StepCall {
    pub run_id: RunId,
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub run_created_at: UnixMillis,
    /// The step's position in the run's steps.
    pub step_index: usize,
}

impl StepCall {
    /// The `Idempotency-Key` of step `step_id` (at this call's index) of this run.
    pub fn idempotency_key(&self, step_id: &str) -> String {
        step_idempotency_key(
            self.workspace_id,
            self.environment,
            self.run_id,
            self.run_created_at,
            self.step_index,
            step_id,
        )
    }
}

/// What a step that did not fail produced.
#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    Output(Value),
    /// A false `condition`: the run stops here, marked `filtered`.
    Filtered(Value),
}

/// Runs one step (any kind but `delay` and `deliberate`) once.
pub async fn execute(
    step: &Step,
    templates: &Templates,
    services: &StepServices,
    call: &StepCall,
    timeout: Duration,
) -> Result<StepOutcome, String> {
    match &step.kind {
        StepKind::Llm(llm) => llm::llm(llm, &step.id, templates, &services.models, call).await,
        StepKind::Http(http) => {
            let key = call.idempotency_key(&step.id);
            http::http(http, templates, &services.outbound, timeout, &key).await
        }
        StepKind::Transform(transform) => compute::transform(transform, templates),
        StepKind::Condition(condition) => compute::condition(condition, templates),
        StepKind::Email(email) => {
            let to = templates.render(&email.to).map_err(|e| e.0)?;
            let subject = templates.render(&email.subject).map_err(|e| e.0)?;
            let body = templates.render(&email.body).map_err(|e| e.0)?;
            let mut sent = services.mailer.send(&to, &subject, &body).await?;
            // The output is stored: a field rendered from secrets is sent, not kept.
            for (field, source) in [("to", &email.to), ("subject", &email.subject)] {
                if reads(source, Form::Template, SECRETS) {
                    sent[field] = Value::String(SENT_NOT_KEPT.to_owned());
                }
            }
            Ok(StepOutcome::Output(sent))
        }
        StepKind::Delay(_) => Err("a delay step is handled by the runner".to_owned()),
        StepKind::Deliberate(_) => Err("a deliberate step is handled by the runner".to_owned()),
    }
}
