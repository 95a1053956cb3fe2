//! Retrying a finished run: from the start with the same payload (no body, or
//! `{"from": "start"}`), or `{"from": "failed_step"}` to resume at the step that
//! failed with the earlier steps' outputs. A retry is a new run, queued like any.

use pilot_domain::{Principal, RunId, Scope};
use pilot_store::{RetryFrom, RetryRun};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::not_found;
use crate::answer::{Answer, Replayable};
use crate::authorize;
use crate::error::{ErrorCode, OpError};
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::views::RetryQueued;

/// `POST /api/v1/runs/{id}/retry`'s optional body.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// `start` (default) or `failed_step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(start|failed_step)$")]
    pub from: Option<String>,
}

impl Operations {
    /// `POST /api/v1/runs/{id}/retry`: `request` is `None` for an empty body.
    #[tracing::instrument(
        name = "retry_run",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn retry_run(
        &self,
        who: &Principal,
        id: &str,
        request: Result<Option<RetryRequest>, OpError>,
        idempotency: Option<Idempotency>,
    ) -> Answer<Replayable<RetryQueued>> {
        if let Err(refused) = authorize::require(who, Scope::PilotsWrite) {
            return Answer::err(refused);
        }
        let (ops, who_, id) = (self.clone(), who.clone(), id.to_owned());
        self.idempotently(who, idempotency, async move {
            Answer::new(ops.retry_now(&who_, &id, request).await)
        })
        .await
    }

    async fn retry_now(
        &self,
        who: &Principal,
        id: &str,
        request: Result<Option<RetryRequest>, OpError>,
    ) -> Result<RetryQueued, OpError> {
        let request = request?.unwrap_or_default();
        let id = RunId::parse(id).ok_or_else(not_found)?;
        let from = match request.from.as_deref() {
            None | Some("start") => RetryFrom::Start,
            Some("failed_step") => RetryFrom::FailedStep,
            Some(_) => {
                return Err(OpError::validation(
                    "from must be \"start\" or \"failed_step\"",
                ));
            }
        };
        let outcome = self
            .store()
            .retry_run(who.workspace_id, who.environment, id, from, self.now())
            .await?;
        match outcome {
            RetryRun::Created(run) => Ok(RetryQueued {
                job_id: run.id.0,
                queued: true,
                retry_of: id.0,
            }),
            RetryRun::RunNotFound => Err(not_found()),
            RetryRun::NoFailedStep => Err(OpError::conflict(
                ErrorCode::NoFailedStep,
                "This run has no failed step to resume from; retry it from the start.",
            )),
            RetryRun::NotFinished => Err(OpError::conflict(
                ErrorCode::RunNotFinished,
                "This run has not finished yet.",
            )),
        }
    }
}
