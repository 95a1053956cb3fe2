//! Guardrails (§3 `403 content_blocked`): the configured patterns, then — when
//! `deliberations.moderation` is on — a moderation call through the model layer. In
//! test mode the scripted model's `[[scripted:block]]` marker blocks, so clients can
//! exercise the path. A blocked question is neither charged nor queued.

use pilot_domain::{Environment, Principal};
use pilot_models::{CallContext, ChatRequest, ModelError, Role};

use crate::AppState;
use crate::error::ApiError;

const SCRIPTED_BLOCK: &str = "[[scripted:block]]";

pub async fn check(state: &AppState, who: &Principal, question: &str) -> Result<(), ApiError> {
    let settings = &state.deliberations;
    if let Some(pattern) = settings.config.guardrail_match(question) {
        tracing::info!(%pattern, "question blocked by a guardrail pattern");
        return Err(blocked());
    }
    if who.environment == Environment::Test && question.contains(SCRIPTED_BLOCK) {
        return Err(blocked());
    }
    if settings.config.moderation {
        let call = CallContext::new(who.environment, "moderation", "submit")
            .in_workspace(who.workspace_id);
        let request = ChatRequest::prompt(format!(
            "Does this question ask for harmful, illegal or abusive content? Answer \"allow\" or \"block\".\n\n{question}"
        ));
        match settings
            .models
            .complete(&call, &Role::Moderation, &request)
            .await
        {
            Ok(answer) if answer.text.to_ascii_lowercase().contains("block") => {
                return Err(blocked());
            }
            Ok(_) => {}
            Err(ModelError::ContentFiltered(_)) => return Err(blocked()),
            Err(error) => {
                tracing::warn!(%error, "moderation call failed");
                return Err(ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "internal_error",
                    "The moderation check is unavailable; retry shortly.",
                ));
            }
        }
    }
    Ok(())
}

fn blocked() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "content_blocked",
        "The question failed the safety guardrails. Nothing was charged.",
    )
}
