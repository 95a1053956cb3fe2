//! Guardrails (§3 `content_blocked`), screened by the one submission operation
//! (`pilot_operations`) that `POST /v1/api/deliberations` and a pilot run's
//! `deliberate` step both go through: the configured patterns, then — when
//! `deliberations.moderation` is on — a moderation call through the model layer. In
//! test mode the scripted model's `[[scripted:block]]` marker blocks, so clients can
//! exercise the path. A blocked question is neither charged nor queued.

use pilot_domain::Environment;
use pilot_models::{CallContext, ChatRequest, ModelError, Models, Role};

use super::config::DeliberationsConfig;

/// The test-mode marker that blocks a question.
pub const SCRIPTED_BLOCK: &str = "[[scripted:block]]";

/// What screening a question found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screening {
    Allowed,
    /// Refused: nothing may be charged or queued.
    Blocked,
    /// The moderation call failed; the question was neither allowed nor refused.
    Unavailable(String),
}

/// Screens `question` for a submission in `call`'s workspace and environment; the
/// moderation call, if any, is metered under `call`.
pub async fn screen(
    config: &DeliberationsConfig,
    models: &Models,
    call: &CallContext,
    question: &str,
) -> Screening {
    if let Some(pattern) = config.guardrail_match(question) {
        tracing::info!(%pattern, "question blocked by a guardrail pattern");
        return Screening::Blocked;
    }
    if call.environment == Environment::Test && question.contains(SCRIPTED_BLOCK) {
        return Screening::Blocked;
    }
    if !config.moderation {
        return Screening::Allowed;
    }
    let request = ChatRequest::prompt(format!(
        "Does this question ask for harmful, illegal or abusive content? Answer \"allow\" or \"block\".\n\n{question}"
    ));
    match models.complete(call, &Role::Moderation, &request).await {
        Ok(answer) if answer.text.to_ascii_lowercase().contains("block") => Screening::Blocked,
        Ok(_) => Screening::Allowed,
        Err(ModelError::ContentFiltered(_)) => Screening::Blocked,
        Err(error) => {
            tracing::warn!(%error, "moderation call failed");
            Screening::Unavailable(error.to_string())
        }
    }
}
