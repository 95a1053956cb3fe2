//! Drafting a pilot's steps without creating it, so a person can read (and edit)
//! them before saving: the dashboard's "create from a description". The same
//! drafter, payload shape and checks as `create_pilot`, the same per-workspace rate
//! limit (a draft costs a model call), and the secrets the steps read that the
//! tenant lacks.

use pilot_domain::{Principal, Scope};
use serde::{Deserialize, Serialize};

use super::input;
use super::steps_scope;
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;

/// What to draft from.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftPilot {
    pub title: String,
    pub description: String,
    pub trigger_type: Option<String>,
    pub sample_payload: Option<serde_json::Value>,
}

/// Drafted steps, not kept anywhere.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftedSteps {
    pub steps: serde_json::Value,
    pub missing_secrets: Vec<String>,
}

impl Operations {
    #[tracing::instrument(
        name = "draft_pilot",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn draft_pilot(
        &self,
        who: &Principal,
        request: DraftPilot,
    ) -> Result<DraftedSteps, OpError> {
        authorize::require(who, Scope::PilotsWrite)?;
        let title = input::title(&request.title)?;
        let description = input::description(&request.description)?;
        if description.is_empty() {
            return Err(OpError::validation(
                "Describe what the pilot should do for the AI to draft steps from.",
            ));
        }
        let trigger_type = input::trigger_type(request.trigger_type.as_deref())?;
        let sample_payload = input::sample_payload(request.sample_payload.as_ref())?;
        self.enforce(
            &format!("pilots:create:{}", who.workspace_id),
            self.policy().pilot_creates,
        )
        .await?;
        let steps = self
            .draft_steps(who, &title, &description, trigger_type, sample_payload)
            .await?;
        steps_scope::require(who, &steps)?;
        let missing_secrets = self.missing_secrets(who, &steps).await?;
        Ok(DraftedSteps {
            steps: steps.to_value(),
            missing_secrets,
        })
    }
}
