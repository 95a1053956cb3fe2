//! Submitting a deliberation (§3): `POST /v1/api/deliberations`, and — through
//! [`Operations::submit_as`] — a pilot's `deliberate` step. The order of the checks
//! is the module's (see [`super`]); `202` with the id, the result URL and the
//! reservation.

use pilot_domain::deliberation::SubmissionBody;
use pilot_domain::{Channel, DeliberationId, Principal, Scope, Submission};
use pilot_store::{CreateDeliberation, NewDeliberation, StoreError};

use super::limits::Budget;
use crate::answer::{Answer, Replayable};
use crate::authorize;
use crate::error::OpError;
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::views::DeliberationAccepted;
use crate::views::deliberation::result_url;

/// What a submission that got through its checks became.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Submitted {
    Created(DeliberationAccepted),
    /// A deliberation with the given id exists already (nothing was reserved for
    /// this submission: its transaction was rolled back).
    AlreadyExists,
}

impl Operations {
    /// `POST /v1/api/deliberations`, and MCP's and the dashboard's submissions.
    /// `request` is the body as the transport decoded it, or why it could not: the
    /// scope is checked, the idempotency key claimed and the request counted against
    /// the key's rate limit before either is looked at. Only an interactive
    /// `channel` takes `deliberation2`.
    #[tracing::instrument(
        name = "submit_deliberation",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn submit_deliberation(
        &self,
        who: &Principal,
        request: Result<SubmissionBody, OpError>,
        idempotency: Option<Idempotency>,
        channel: Channel,
    ) -> Answer<Replayable<DeliberationAccepted>> {
        if let Err(refused) = authorize::require(who, Scope::DeliberationsWrite) {
            return Answer::err(refused);
        }
        let (ops, caller) = (self.clone(), who.clone());
        self.idempotently(who, idempotency, async move {
            let submission = request.and_then(|body| {
                Submission::parse_from(&body, channel).map_err(OpError::validation)
            });
            let id = DeliberationId::from_ulid_text(&ulid::Ulid::new().to_string());
            let answer = ops.submit_as(&caller, submission, id, "submit").await;
            Answer {
                result: answer.result.and_then(|submitted| match submitted {
                    Submitted::Created(accepted) => Ok(accepted),
                    Submitted::AlreadyExists => {
                        tracing::error!("a fresh deliberation id was already taken");
                        Err(OpError::internal())
                    }
                }),
                replayed: answer.replayed,
                rate_limit: answer.rate_limit,
            }
        })
        .await
    }

    /// The one submission path, after the idempotency key: the scope again (so no
    /// caller of this can skip it), the key's rate limit, then `submission` — the
    /// request's own errors or the validated submission —, the `webhook_url` guard,
    /// the guardrails (moderation metered as `caller`'s), and the reservation with
    /// the insert of deliberation `id` and its job.
    pub(crate) async fn submit_as(
        &self,
        who: &Principal,
        submission: Result<Submission, OpError>,
        id: DeliberationId,
        caller: &str,
    ) -> Answer<Submitted> {
        if let Err(refused) = authorize::require(who, Scope::DeliberationsWrite) {
            return Answer::err(refused);
        }
        self.counted(who, Budget::Posts, async {
            self.create_checked(who, submission?, id, caller).await
        })
        .await
    }

    async fn create_checked(
        &self,
        who: &Principal,
        submission: Submission,
        id: DeliberationId,
        caller: &str,
    ) -> Result<Submitted, OpError> {
        if let Some(url) = &submission.webhook_url {
            self.check_webhook_url("webhook_url", url).await?;
        }
        self.screen_question(who, caller, &submission.question)
            .await?;

        let estimate = self
            .policy()
            .deliberations
            .estimates
            .estimate(submission.mode, submission.difficulty);
        let new = NewDeliberation {
            id,
            key_id: Some(who.key_id),
            mode: submission.mode,
            use_case: submission.use_case,
            difficulty: submission.difficulty,
            question: submission.question,
            webhook_url: submission.webhook_url,
            metadata: submission.metadata,
            estimate,
        };
        let created = self
            .store()
            .create_deliberation(who.workspace_id, who.environment, &new, self.now())
            .await;
        match created {
            Ok(CreateDeliberation::Created(record)) => {
                Ok(Submitted::Created(DeliberationAccepted {
                    deliberation_id: record.id.as_str().to_owned(),
                    estimated_credits: estimate,
                    result_url: result_url(&self.policy().public_url, record.id.as_str()),
                    status: "queued".to_owned(),
                }))
            }
            Ok(CreateDeliberation::InsufficientCredits { balance }) => {
                Err(OpError::insufficient_credits(balance, estimate))
            }
            // The id's primary key: this deliberation was submitted already.
            Err(StoreError::Conflict(_)) => Ok(Submitted::AlreadyExists),
            Err(error) => Err(error.into()),
        }
    }
}
