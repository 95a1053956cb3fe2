//! Creating a pilot: its steps drafted from the description by the drafter model,
//! unless the client sends them. Steps holding a `deliberate` step, sent or drafted,
//! also need `deliberations:write` ([`super::steps_scope`]); the creating key is
//! recorded as the one that set the steps. A `notifyUrl` is checked by the webhook
//! guard, and makes sure the tenant has a signing secret for its run events. The
//! answer lists the secrets the steps read that the tenant lacks (`missingSecrets`):
//! not an error, the pilot is created.
//! Creations are rate-limited per workspace.

use pilot_domain::{Principal, Scope, Steps, TriggerType, step_secrets};
use pilot_engine::drafting::{DraftError, DraftRequest};
use pilot_models::ModelError;
use pilot_store::NewPilot;

use super::input::{self, CreatePilot};
use super::steps_scope;
use crate::answer::{Answer, Replayable};
use crate::authorize;
use crate::error::{ErrorCode, OpError};
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::triggers::webhook_verify;
use crate::views::PilotDetail;
use crate::webhooks::Tenant;

impl Operations {
    /// `POST /api/v1/pilots`. `request` is the body as the transport decoded it, or
    /// why it could not: the scope is checked and the idempotency key claimed
    /// before either is looked at.
    #[tracing::instrument(
        name = "create_pilot",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn create_pilot(
        &self,
        who: &Principal,
        request: Result<CreatePilot, OpError>,
        idempotency: Option<Idempotency>,
    ) -> Answer<Replayable<PilotDetail>> {
        if let Err(refused) = authorize::require(who, Scope::PilotsWrite) {
            return Answer::err(refused);
        }
        let (ops, caller) = (self.clone(), who.clone());
        self.idempotently(who, idempotency, async move {
            Answer::new(match request {
                Ok(request) => ops.create_pilot_now(&caller, request).await,
                Err(error) => Err(error),
            })
        })
        .await
    }

    async fn create_pilot_now(
        &self,
        who: &Principal,
        request: CreatePilot,
    ) -> Result<PilotDetail, OpError> {
        let title = input::title(&request.title)?;
        let description = input::description(&request.description)?;
        let trigger_type = input::trigger_type(request.trigger_type.as_deref())?;
        let status = input::status(request.status.as_deref())?;
        let now = self.now();
        let trigger = input::trigger(
            trigger_type,
            request.schedule.as_ref(),
            self.master_key(),
            now,
            self.policy().min_schedule_interval,
        )?;
        let webhook_verification = match &request.webhook_verification {
            Some(_) if trigger_type != TriggerType::Webhook => {
                return Err(OpError::validation(
                    "webhookVerification is only allowed for a pilot whose triggerType is \"webhook\"",
                ));
            }
            Some(body) => Some(webhook_verify::seal(body, self.master_key())?),
            None => None,
        };
        let sample_payload = input::sample_payload(request.sample_payload.as_ref())?;
        let given_steps = request.steps.as_ref().map(input::steps).transpose()?;
        if let Some(steps) = &given_steps {
            steps_scope::require(who, steps)?;
            input::check_templates(steps, trigger_type, sample_payload)?;
        }
        let notify_url = request
            .notify_url
            .as_deref()
            .map(input::notify_url)
            .transpose()?;
        if let Some(url) = notify_url {
            self.check_webhook_url("notifyUrl", url).await?;
        }
        self.enforce(
            &format!("pilots:create:{}", who.workspace_id),
            self.policy().pilot_creates,
        )
        .await?;

        let steps = match given_steps {
            Some(steps) => steps,
            None => {
                if description.is_empty() {
                    return Err(OpError::validation(
                        "Send a description for the AI to draft steps from, or the steps themselves.",
                    ));
                }
                let drafted = self
                    .draft_steps(who, &title, &description, trigger_type, sample_payload)
                    .await?;
                steps_scope::require(who, &drafted)?;
                drafted
            }
        };
        if notify_url.is_some() {
            // Its runs' events are signed with the tenant's secret from the first.
            self.ensure_signing_secret(Tenant::of(who)).await?;
        }
        let pilot = NewPilot {
            title,
            description,
            status,
            trigger,
            steps: steps.to_value(),
            steps_key_id: Some(who.key_id),
            notify_url: notify_url.map(str::to_owned),
            webhook_verification,
        };
        let created = self
            .store()
            .create_pilot(who.workspace_id, who.environment, &pilot, now)
            .await?;
        let missing = self.missing_secrets(who, &steps).await?;
        Ok(PilotDetail {
            missing_secrets: Some(missing),
            ..PilotDetail::of(&created, self.links())
        })
    }
}

impl Operations {
    /// The secrets `steps` read that the caller's tenant lacks (not an error: the
    /// answer lists them).
    pub(super) async fn missing_secrets(
        &self,
        who: &Principal,
        steps: &Steps,
    ) -> Result<Vec<String>, OpError> {
        let have = self
            .store()
            .list_secrets(who.workspace_id, who.environment)
            .await?;
        Ok(step_secrets::referenced(steps)
            .into_iter()
            .filter(|name| !have.iter().any(|secret| secret.name == *name))
            .collect())
    }

    /// The drafter's steps for a pilot not yet created (its trigger's payload shape
    /// told, its templates checked).
    pub(super) async fn draft_steps(
        &self,
        who: &Principal,
        title: &str,
        description: &str,
        trigger_type: TriggerType,
        sample_payload: Option<&serde_json::Value>,
    ) -> Result<Steps, OpError> {
        let draft = DraftRequest {
            workspace_id: who.workspace_id,
            environment: who.environment,
            title,
            description,
            trigger_type,
            sample_payload,
        };
        self.services()
            .drafter
            .draft(&draft)
            .await
            .map_err(draft_error)
    }
}

fn draft_error(error: DraftError) -> OpError {
    match error {
        DraftError::Invalid(errors) => OpError::validation(format!(
            "Could not draft valid steps from the description: {errors}. \
             Rephrase the description or send steps yourself."
        )),
        DraftError::Model(ModelError::NotConfigured(message)) => OpError::unavailable(
            ErrorCode::ModelUnavailable,
            format!("Drafting needs a model: {message}"),
        ),
        DraftError::Model(ModelError::ContentFiltered(message)) => OpError::validation(format!(
            "The model refused to draft this description: {message}"
        )),
        DraftError::Model(other) => {
            tracing::warn!(error = %other, "drafting failed");
            OpError::unavailable(
                ErrorCode::ModelUnavailable,
                format!("The drafting model is unavailable: {other}"),
            )
        }
    }
}
