//! A pilot's `deliberate` step submits through here: the engine's
//! [`DeliberationSubmitter`] port, implemented by the API's own submission.
//!
//! The step acts on the authority of the API key that set its pilot's steps, which
//! the run recorded (`RunRecord::authorized_key_id`). That key becomes the caller —
//! the [`Principal`] a request presenting it would be — provided it still exists in
//! the run's workspace and environment, is not revoked and holds
//! `deliberations:write`; then the submission takes the path
//! `POST /v1/api/deliberations` takes ([`Operations::submit_as`]): the scope, the
//! key's submission rate limit (the same bucket its API requests spend), the
//! submission's rules, the guardrails (the moderation call metered to the run's
//! step), the credit reservation, and the insert under the id the step derived.
//!
//! The answers are the step's to act on ([`Submitted`]): a refusal is the step's
//! error message, saying what happened and that nothing was charged; a spent rate
//! limit is a time to come back (the step waits rather than failing); a
//! primary-key conflict means an earlier or racing pass submitted this very
//! deliberation. Only store failures are errors, which the run's job retries.

use async_trait::async_trait;
use pilot_domain::{Principal, Scope, Submission};
use pilot_engine::steps::deliberate::{DeliberationSubmitter, StepDeliberation, Submitted};
use pilot_store::StoreError;

use super::submit::Submitted as Outcome;
use crate::accounts;
use crate::error::{ErrorCode, ErrorKind, OpError};
use crate::operations::Operations;

/// What a refusal about the run's key tells the pilot's owner to do.
const REMEDY: &str = "nothing was charged; set the pilot's steps again with a key that holds \
                      deliberations:write";

#[async_trait]
impl DeliberationSubmitter for Operations {
    #[tracing::instrument(
        name = "submit_step_deliberation",
        skip_all,
        fields(
            workspace = deliberation.workspace_id.0,
            environment = deliberation.environment.as_str()
        )
    )]
    async fn submit(&self, deliberation: &StepDeliberation) -> Result<Submitted, StoreError> {
        let who = match self.run_key(deliberation).await? {
            Ok(who) => who,
            Err(refusal) => return Ok(Submitted::Refused(refusal)),
        };
        let submission = Submission::new(
            &deliberation.question,
            deliberation.mode,
            deliberation.use_case,
            deliberation.difficulty,
            None,
            Some(deliberation.metadata.clone()),
        )
        .map_err(OpError::validation);
        let answer = self
            .submit_as(
                &who,
                submission,
                deliberation.id.clone(),
                &deliberation.caller,
            )
            .await;
        match answer.result {
            Ok(Outcome::Created(_)) => Ok(Submitted::Created),
            Ok(Outcome::AlreadyExists) => Ok(Submitted::AlreadySubmitted),
            Err(error) => self.step_answer(deliberation, error).await,
        }
    }
}

impl Operations {
    /// The caller the run's key is, if it may still submit; else the step's error.
    async fn run_key(
        &self,
        deliberation: &StepDeliberation,
    ) -> Result<Result<Principal, String>, StoreError> {
        let Some(key_id) = deliberation.key_id else {
            return Ok(Err(format!(
                "this run has no authorising API key (its pilot's steps were set before keys \
                 were recorded); {REMEDY}"
            )));
        };
        let found = self
            .store()
            .find_key_in_tenant(deliberation.workspace_id, deliberation.environment, key_id)
            .await?;
        Ok(match found {
            None => Err(format!(
                "the API key that authorised this run (key {key_id}) no longer exists; {REMEDY}"
            )),
            Some(found) if found.key.revoked_at.is_some() => Err(format!(
                "the API key that authorised this run ({}…, key {key_id}) has been revoked; \
                 {REMEDY}",
                found.key.prefix
            )),
            Some(found) if !found.key.scopes.allows(Scope::DeliberationsWrite) => Err(format!(
                "the API key that authorised this run ({}…, key {key_id}) lacks the {} scope; \
                 {REMEDY}",
                found.key.prefix,
                Scope::DeliberationsWrite
            )),
            Some(found) => Ok(accounts::principal(found)),
        })
    }

    /// What the step makes of a submission the path refused.
    async fn step_answer(
        &self,
        deliberation: &StepDeliberation,
        error: OpError,
    ) -> Result<Submitted, StoreError> {
        Ok(match (error.code, error.kind) {
            (ErrorCode::RateLimited, _) => {
                let now = self.now();
                let retry_at = error.rate_limit.map_or_else(
                    || now.plus_ms(retry_ms(error.retry_after_secs)),
                    |state| state.next_at,
                );
                Submitted::RateLimited {
                    retry_at: retry_at.max(now.plus_ms(1)),
                }
            }
            (ErrorCode::InsufficientCredits, _) => {
                // The short balance may be this very deliberation's reservation, made
                // by a pass that raced this one.
                if self
                    .store()
                    .load_deliberation(&deliberation.id)
                    .await?
                    .is_some()
                {
                    return Ok(Submitted::AlreadySubmitted);
                }
                Submitted::Refused(match error.shortfall.as_deref() {
                    Some(short) => format!(
                        "insufficient credits: balance {} < estimated {}",
                        short.balance, short.estimate
                    ),
                    None => format!("insufficient credits: {}", error.message),
                })
            }
            (ErrorCode::ContentBlocked, _) => Submitted::Refused(
                "content_blocked: the question failed the safety guardrails; nothing was \
                 charged"
                    .to_owned(),
            ),
            (_, ErrorKind::Unavailable) => Submitted::Refused(
                "the moderation check is unavailable; nothing was charged".to_owned(),
            ),
            (_, ErrorKind::Internal) => {
                return Err(StoreError::Unavailable(format!(
                    "submitting deliberation {} failed (the cause is logged)",
                    deliberation.id
                )));
            }
            (ErrorCode::ValidationError, _) => Submitted::Refused(error.message),
            (code, _) => {
                Submitted::Refused(format!("{code}: {}; nothing was charged", error.message))
            }
        })
    }
}

fn retry_ms(retry_after_secs: Option<u64>) -> i64 {
    i64::try_from(retry_after_secs.unwrap_or(1).saturating_mul(1000)).unwrap_or(i64::MAX)
}
