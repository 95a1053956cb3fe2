//! Firing a run: the run and its job are created in one transaction, and only once
//! they are committed is the run accepted. The run endpoint, the webhook trigger and
//! the email trigger all fire through [`Operations::fire`]; the schedule trigger
//! fires through the store's once-across-nodes tick (`triggers::schedule`).

use pilot_domain::{Environment, FiredBy, PilotId, Principal, Scope, TriggerType, WorkspaceId};
use pilot_store::{CreateRun, NewRun};
use serde_json::{Value, json};

use super::not_found;
use crate::answer::{Answer, Replayable};
use crate::authorize;
use crate::error::{ErrorCode, OpError};
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::views::RunQueued;

/// The tenant a run is fired in, and how.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Firing {
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub pilot_id: PilotId,
    /// The trigger firing it: `Manual` is the API (`POST …/run`, MCP), the others
    /// the pilot's own trigger. The run's `triggerType` is the pilot's whichever
    /// fires it (the store reads it); this becomes its `firedBy`.
    pub trigger_type: TriggerType,
}

impl Firing {
    /// What the run records as having fired it.
    pub fn fired_by(&self) -> FiredBy {
        match self.trigger_type {
            TriggerType::Manual => FiredBy::Api,
            TriggerType::Webhook => FiredBy::Webhook,
            TriggerType::Schedule => FiredBy::Schedule,
            TriggerType::Email => FiredBy::Email,
        }
    }
}

impl Operations {
    /// `POST /api/v1/pilots/{id}/run`: `payload` is the trigger payload (`None`: an
    /// empty body, `{}`), or why the transport could not read one.
    #[tracing::instrument(
        name = "run_pilot",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn run_pilot(
        &self,
        who: &Principal,
        id: &str,
        payload: Result<Option<Value>, OpError>,
        idempotency: Option<Idempotency>,
    ) -> Answer<Replayable<RunQueued>> {
        if let Err(refused) = authorize::require(who, Scope::PilotsWrite) {
            return Answer::err(refused);
        }
        let (ops, who_, id) = (self.clone(), who.clone(), id.to_owned());
        self.idempotently(who, idempotency, async move {
            let fired = async {
                let payload = payload?.unwrap_or_else(|| json!({}));
                let pilot_id = PilotId::parse(&id).ok_or_else(not_found)?;
                let firing = Firing {
                    workspace_id: who_.workspace_id,
                    environment: who_.environment,
                    pilot_id,
                    trigger_type: TriggerType::Manual,
                };
                ops.fire(firing, &payload, None).await
            };
            Answer::new(fired.await)
        })
        .await
    }

    /// Creates the run with its job; answers as the seed's run endpoint does.
    /// `request`: a webhook run's request besides its body (see
    /// `triggers::webhook_body`), kept with the run for its templates.
    pub(crate) async fn fire(
        &self,
        firing: Firing,
        payload: &Value,
        request: Option<&Value>,
    ) -> Result<RunQueued, OpError> {
        let outcome = self
            .store()
            .create_run(
                firing.workspace_id,
                firing.environment,
                firing.pilot_id,
                &NewRun {
                    fired_by: firing.fired_by(),
                    payload,
                    request,
                },
                self.now(),
            )
            .await?;
        match outcome {
            CreateRun::Created(run) => Ok(RunQueued {
                job_id: run.id.0,
                queued: true,
            }),
            CreateRun::PilotNotFound => Err(not_found()),
            CreateRun::PilotPaused => Err(paused()),
        }
    }
}

/// A paused pilot's `409`.
pub(crate) fn paused() -> OpError {
    OpError::conflict(
        ErrorCode::PilotPaused,
        "Pilot is paused. Set its status to active to run it.",
    )
}
