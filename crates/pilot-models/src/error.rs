//! The model layer's one error type, and what each variant means for a caller.

use std::time::Duration;

/// Why a model call produced no usable answer.
///
/// Retries are decided here ([`ModelError::is_retryable`]): rate limits, 5xx answers
/// and connection failures are worth another attempt; everything else is not.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// No provider, model or key is configured for this call; nothing was sent and
    /// nothing charged.
    #[error("models not configured: {0}")]
    NotConfigured(String),
    /// The provider refused our credentials (401 or 403).
    #[error("the provider refused the API key (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// 429. `retry_after` is what the provider asked us to wait, when it said.
    #[error("rate limited by the provider{}: {message}", wait_hint(*retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The provider failed on its side (5xx, or an overloaded error mid-stream).
    #[error("the provider is unavailable (HTTP {status}){}: {message}", wait_hint(*retry_after))]
    Unavailable {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    /// Any other refusal (400, 404, 422, …): our request or model name is wrong, and
    /// sending it again will not help.
    #[error("the provider rejected the request (HTTP {status}): {message}")]
    Provider { status: u16, message: String },
    /// No answer within the per-call timeout.
    #[error("the model did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The provider answered, but not in a shape we can use (not JSON, a stream that
    /// ended early, structured output that is not JSON).
    #[error("bad response from the model: {0}")]
    BadResponse(String),
    /// The answer is, or would be, larger than `models.max_answer_bytes`: a provider's
    /// answer is cut off once past it (the call is metered, at an estimate); the
    /// scripted model refuses before it builds anything. `what` says what was too big.
    #[error("{what}: over models.max_answer_bytes ({limit} bytes)")]
    AnswerTooLarge { limit: u64, what: String },
    /// The provider's guardrails refused the prompt or the answer.
    #[error("the provider filtered the content: {0}")]
    ContentFiltered(String),
    /// The provider reported no token usage and `models.unknown_usage = "error"`.
    /// The call is still metered, at the estimate.
    #[error("the provider reported no token usage (models.unknown_usage = \"error\")")]
    UnknownUsage,
    /// The request never got an answer: connection refused or reset, DNS, TLS.
    #[error("could not reach the provider: {0}")]
    Transport(String),
    /// The call was made but its usage could not be recorded, so its answer is not
    /// handed out (every call is metered).
    #[error("could not record the call's usage: {0}")]
    Metering(String),
}

fn wait_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(wait) => format!(" (retry after {} ms)", wait.as_millis()),
        None => String::new(),
    }
}

impl ModelError {
    /// Whether another attempt may succeed: rate limits, provider-side failures and
    /// connection errors. Never for other 4xx, timeouts or bad output.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ModelError::RateLimited { .. }
                | ModelError::Unavailable { .. }
                | ModelError::Transport(_)
        )
    }

    /// The wait the provider asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::RateLimited { retry_after, .. }
            | ModelError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error for an HTTP status that is not a success. `message` is the provider's
    /// own explanation, already shortened.
    pub(crate) fn from_status(status: u16, retry_after: Option<Duration>, message: String) -> Self {
        match status {
            401 | 403 => ModelError::Auth { status, message },
            429 => ModelError::RateLimited {
                retry_after,
                message,
            },
            500..=599 => ModelError::Unavailable {
                status,
                retry_after,
                message,
            },
            _ => ModelError::Provider { status, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds_and_retryability() {
        let wait = Some(Duration::from_secs(2));
        let cases = [
            (401, false, "refused the API key"),
            (403, false, "refused the API key"),
            (429, true, "rate limited"),
            (500, true, "unavailable"),
            (529, true, "unavailable"),
            (400, false, "rejected"),
            (404, false, "rejected"),
        ];
        for (status, retryable, text) in cases {
            let error = ModelError::from_status(status, wait, "why".into());
            assert_eq!(error.is_retryable(), retryable, "{status}");
            assert!(error.to_string().contains(text), "{status}: {error}");
        }
        let limited = ModelError::from_status(429, wait, "slow down".into());
        assert_eq!(limited.retry_after(), wait);
        assert_eq!(
            limited.to_string(),
            "rate limited by the provider (retry after 2000 ms): slow down"
        );
        assert!(!ModelError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(!ModelError::BadResponse("x".into()).is_retryable());
        assert!(ModelError::Transport("refused".into()).is_retryable());
        let large = ModelError::AnswerTooLarge {
            limit: 1024,
            what: "the provider's answer (2048 bytes so far)".into(),
        };
        assert!(!large.is_retryable());
        assert_eq!(
            large.to_string(),
            "the provider's answer (2048 bytes so far): over models.max_answer_bytes (1024 bytes)"
        );
    }
}
