//! Changing a pilot: title, description, steps, status, trigger or notify URL
//! (`null` clears it). Every field is validated as on create; an absent field is
//! left as it is. New steps holding a `deliberate` step also need
//! `deliberations:write`, and the patching key becomes the one that set the steps.
//! A new notify URL makes sure the tenant has a signing secret for its run events.
//! `rotateWebhookToken` replaces a webhook pilot's token: the old URL is unknown
//! from that write on. The steps the pilot ends up with are checked against the
//! payload it will get (`input::check_templates`): sent steps always, kept steps
//! when a `samplePayload` or a new trigger type comes with the patch.

use pilot_domain::{Principal, Scope, TriggerType};
use pilot_store::PilotPatch;

use super::input::{self, UpdatePilot};
use super::{not_found, steps_scope};
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::triggers::webhook_verify;
use crate::views::PilotDetail;
use crate::webhooks::Tenant;

impl Operations {
    /// `PATCH /api/v1/pilots/{id}`.
    #[tracing::instrument(
        name = "update_pilot",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn update_pilot(
        &self,
        who: &Principal,
        id: &str,
        request: Result<UpdatePilot, OpError>,
    ) -> Result<PilotDetail, OpError> {
        authorize::require(who, Scope::PilotsWrite)?;
        let request = request?;
        let current = self.find_pilot(who, id).await?;
        let now = self.now();
        let sample_payload = input::sample_payload(request.sample_payload.as_ref())?;
        let steps = request.steps.as_ref().map(input::steps).transpose()?;
        if let Some(steps) = &steps {
            steps_scope::require(who, steps)?;
        }
        let notify_url = match &request.notify_url {
            Some(Some(url)) => {
                let url = input::notify_url(url)?;
                self.check_webhook_url("notifyUrl", url).await?;
                Some(Some(url.to_owned()))
            }
            cleared => cleared.clone(),
        };
        let mut patch = PilotPatch {
            title: request.title.as_deref().map(input::title).transpose()?,
            description: request
                .description
                .as_deref()
                .map(input::description)
                .transpose()?,
            status: request
                .status
                .as_deref()
                .map(|s| input::status(Some(s)))
                .transpose()?,
            steps_key_id: steps.as_ref().map(|_| who.key_id),
            steps: steps.as_ref().map(|s| s.to_value()),
            trigger: None,
            notify_url,
            webhook_verification: None,
        };
        // A new trigger type or schedule replaces the trigger; the same type without
        // new settings keeps its token or address.
        let wants_type = request
            .trigger_type
            .as_deref()
            .map(|t| input::trigger_type(Some(t)))
            .transpose()?;
        let new_type = wants_type.is_some_and(|t| t != current.trigger_type);
        let rotate = request.rotate_webhook_token == Some(true);
        if rotate && wants_type.unwrap_or(current.trigger_type) != TriggerType::Webhook {
            return Err(OpError::validation(
                "rotateWebhookToken is only allowed for a pilot whose triggerType is \"webhook\"",
            ));
        }
        // A rotation is a webhook trigger made afresh: a new token, the old one's
        // digest gone in the same write.
        if new_type || request.schedule.is_some() || rotate {
            let trigger_type = wants_type.unwrap_or(current.trigger_type);
            patch.trigger = Some(input::trigger(
                trigger_type,
                request.schedule.as_ref(),
                self.master_key(),
                now,
                self.policy().min_schedule_interval,
            )?);
        }
        // The steps the pilot will have are checked against the payload it will get:
        // new steps always, the kept ones when a sample or a new trigger type comes.
        let type_after = wants_type.unwrap_or(current.trigger_type);
        match &steps {
            Some(steps) => input::check_templates(steps, type_after, sample_payload)?,
            None if sample_payload.is_none() && !new_type => {}
            None => {
                let kept = input::steps(&current.steps)?;
                input::check_templates(&kept, type_after, sample_payload)?;
            }
        }
        let webhook_after = type_after == TriggerType::Webhook;
        match &request.webhook_verification {
            Some(Some(_)) if !webhook_after => {
                return Err(OpError::validation(
                    "webhookVerification is only allowed for a pilot whose triggerType is \"webhook\"",
                ));
            }
            Some(Some(body)) => {
                patch.webhook_verification =
                    Some(Some(webhook_verify::seal(body, self.master_key())?));
            }
            Some(None) => patch.webhook_verification = Some(None),
            // A pilot that stops being a webhook pilot drops its verification.
            None if !webhook_after => patch.webhook_verification = Some(None),
            None => {}
        }
        if matches!(patch.notify_url, Some(Some(_))) {
            // Its runs' events are signed with the tenant's secret from the first.
            self.ensure_signing_secret(Tenant::of(who)).await?;
        }
        let updated = self
            .store()
            .update_pilot(who.workspace_id, who.environment, current.id, &patch, now)
            .await?
            .ok_or_else(not_found)?;
        Ok(PilotDetail::of(&updated, self.links()))
    }
}
