//! The port through which a `deliberate` step submits its deliberation.
//!
//! The engine sits below the operations layer, so it cannot call the submission
//! operation itself; it names what it needs here and the application hands it an
//! implementation (`pilot_operations::Operations`, wired in `pilot::app`). That
//! implementation runs the very path `POST /v1/api/deliberations` runs — the
//! authorising key's scope, its submission rate limit, validation, guardrails, the
//! credit reservation and the insert with its job in one transaction — so a pilot
//! cannot do what its key could not do through the API.
//!
//! What the step keeps is its own business: when to submit (once per attempt, under
//! an id derived from the run), how to wait, retries, and what its result reads.

use async_trait::async_trait;
use pilot_domain::deliberation::{Difficulty, Mode, UseCase};
use pilot_domain::{ApiKeyId, DeliberationId, Environment, UnixMillis, WorkspaceId};
use pilot_store::StoreError;
use serde_json::Value;

/// One deliberation a step asks for, in its run's tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDeliberation {
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    /// The key the run acts under (`RunRecord::authorized_key_id`): the one that set
    /// the pilot's steps. `None` for a run whose steps were stored before keys were
    /// recorded, which may not submit.
    pub key_id: Option<ApiKeyId>,
    /// Derived from the run, the step and the attempt, so a second submission of the
    /// same attempt is a conflict, not a second deliberation.
    pub id: DeliberationId,
    /// Rendered, trimmed and checked by the step.
    pub question: String,
    pub mode: Mode,
    pub use_case: UseCase,
    pub difficulty: Difficulty,
    /// Stored with the deliberation: which pilot, run and step asked.
    pub metadata: Value,
    /// Whom the guardrails' moderation call is metered to (`run:{run}:{step}`).
    pub caller: String,
}

/// What became of a submission.
#[derive(Clone, Debug, PartialEq)]
pub enum Submitted {
    /// Created, its credits reserved and its job queued.
    Created,
    /// A deliberation with this id exists already: an earlier pass, or one racing
    /// this one, submitted it.
    AlreadySubmitted,
    /// The key's submission rate limit is spent: nothing was charged; submitting
    /// again at `retry_at` will be let through (unless the key's API traffic takes
    /// the request first).
    RateLimited { retry_at: UnixMillis },
    /// Refused, nothing charged: the step fails with this message (it says why and,
    /// where there is one, what to do).
    Refused(String),
}

/// Submits a `deliberate` step's deliberation on the authority of its run's key.
#[async_trait]
pub trait DeliberationSubmitter: Send + Sync {
    /// `Err` only for what retrying the job may mend (the store failing); every
    /// answer about the submission itself is a [`Submitted`].
    async fn submit(&self, deliberation: &StepDeliberation) -> Result<Submitted, StoreError>;
}
