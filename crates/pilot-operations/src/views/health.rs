//! What the server says of itself, with no key: alive, ready, how deep its queue is.

use pilot_domain::JobState;
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /healthz`: the process is up.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct HealthView {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    pub status: String,
}

impl HealthView {
    pub fn ok() -> HealthView {
        HealthView {
            status: "ok".to_owned(),
        }
    }
}

/// `GET /readyz`: the process can reach its store.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReadinessView {
    /// Always `ready` (an unready server answers `503`).
    #[schema(pattern = "^ready$")]
    pub status: String,
    /// `sqlite` or `postgres`.
    pub store: String,
}

/// The job queue's rows by state, across every workspace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub dead: i64,
    pub queued: i64,
    pub running: i64,
}

impl QueueDepth {
    pub fn get(&self, state: JobState) -> i64 {
        match state {
            JobState::Queued => self.queued,
            JobState::Running => self.running,
            JobState::Dead => self.dead,
        }
    }
}
