//! What operators and orchestrators ask of the server itself, without a key: whether
//! it can reach its store (readiness), and how deep the job queue is (metrics).
//! Neither reads tenant data.

use pilot_domain::JobState;

use crate::error::{ErrorCode, OpError};
use crate::operations::Operations;
use crate::views::{QueueDepth, ReadinessView};

impl Operations {
    /// Ready when the store answers a ping; `Unavailable` otherwise (the cause is
    /// logged, not shown).
    #[tracing::instrument(name = "readiness", skip_all)]
    pub async fn readiness(&self) -> Result<ReadinessView, OpError> {
        let store = self.store();
        match store.ping().await {
            Ok(()) => Ok(ReadinessView {
                status: "ready".to_owned(),
                store: store.backend().as_str().to_owned(),
            }),
            Err(error) => {
                tracing::warn!(%error, "readiness check failed");
                Err(OpError::unavailable(
                    ErrorCode::Unavailable,
                    "The store is unreachable.",
                ))
            }
        }
    }

    /// The queue's rows by state, read now.
    #[tracing::instrument(name = "queue_depth", skip_all)]
    pub async fn queue_depth(&self) -> Result<QueueDepth, OpError> {
        let counts = self.store().queue_counts().await?;
        Ok(QueueDepth {
            dead: counts.get(JobState::Dead),
            queued: counts.get(JobState::Queued),
            running: counts.get(JobState::Running),
        })
    }
}
