//! Guardrails (§3 `403 content_blocked`): the configured patterns, then — when
//! `deliberations.moderation` is on — a moderation call through the model layer
//! ([`pilot_engine::deliberation::guardrails::screen`], shared with pilots'
//! `deliberate` step). In test mode the scripted model's `[[scripted:block]]` marker
//! blocks, so clients can exercise the path. A blocked question is neither charged
//! nor queued.

use pilot_domain::Principal;
use pilot_engine::deliberation::guardrails::{Screening, screen};
use pilot_models::CallContext;

use crate::AppState;
use crate::error::ApiError;

pub async fn check(state: &AppState, who: &Principal, question: &str) -> Result<(), ApiError> {
    let settings = &state.deliberations;
    let call =
        CallContext::new(who.environment, "moderation", "submit").in_workspace(who.workspace_id);
    match screen(&settings.config, &settings.models, &call, question).await {
        Screening::Allowed => Ok(()),
        Screening::Blocked => Err(blocked()),
        Screening::Unavailable(_) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "internal_error",
            "The moderation check is unavailable; retry shortly.",
        )),
    }
}

fn blocked() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "content_blocked",
        "The question failed the safety guardrails. Nothing was charged.",
    )
}
