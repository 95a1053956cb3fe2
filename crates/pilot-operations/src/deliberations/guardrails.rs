//! Guardrails (§3 `403 content_blocked`): the configured patterns, then — when
//! `deliberations.moderation` is on — a moderation call through the model layer
//! ([`pilot_engine::deliberation::guardrails::screen`]), metered to the tenant under
//! the submitter's name (`submit` for the API, `run:<run>:<step>` for a pilot's
//! step). In test mode the scripted model's `[[scripted:block]]` marker blocks, so
//! clients can exercise the path. A blocked question is neither charged nor queued;
//! a moderation check that cannot answer is `503`, retryable.

use pilot_domain::Principal;
use pilot_engine::deliberation::guardrails::{Screening, screen};
use pilot_models::CallContext;

use crate::error::{ErrorCode, OpError};
use crate::operations::Operations;

impl Operations {
    /// Screens `question` for `who`, the moderation call metered as `caller`'s.
    pub(crate) async fn screen_question(
        &self,
        who: &Principal,
        caller: &str,
        question: &str,
    ) -> Result<(), OpError> {
        let call =
            CallContext::new(who.environment, "moderation", caller).in_workspace(who.workspace_id);
        let services = self.services();
        match screen(
            &self.policy().deliberations,
            &services.models,
            &call,
            question,
        )
        .await
        {
            Screening::Allowed => Ok(()),
            Screening::Blocked => Err(OpError::new(
                ErrorCode::ContentBlocked,
                "The question failed the safety guardrails. Nothing was charged.",
            )),
            Screening::Unavailable(_) => Err(OpError::unavailable(
                ErrorCode::InternalError,
                "The moderation check is unavailable; retry shortly.",
            )),
        }
    }
}
