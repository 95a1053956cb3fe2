//! Jobs in the durable queue, and how a failed job backs off.
//!
//! A job is `queued` until a worker claims it (`running`, with a lease owner and an
//! expiry), and leaves the table when it completes. A job that fails is queued again
//! at a backed-off `run_at` until it has used `max_attempts`, then it is `dead` and
//! kept for inspection.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::ids::WorkspaceId;
use crate::time::UnixMillis;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Running,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 3] = [JobState::Queued, JobState::Running, JobState::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Dead => "dead",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown job state {s:?}"))
    }
}

/// A job to put in the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// The registered kind that runs it (see the engine's job registry).
    pub kind: String,
    pub payload: Value,
    /// The workspace the job works for, if any: the claim's fairness lane.
    pub workspace_id: Option<WorkspaceId>,
    /// Not before this instant.
    pub run_at: UnixMillis,
    pub max_attempts: i32,
}

impl NewJob {
    pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

    pub fn new(kind: impl Into<String>, payload: Value, run_at: UnixMillis) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            workspace_id: None,
            run_at,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn for_workspace(mut self, workspace_id: WorkspaceId) -> Self {
        self.workspace_id = Some(workspace_id);
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// Exponential backoff with full jitter: after the `n`th failed attempt a job waits a
/// random time in `[d/2, d]` where `d = min(base · 2^(n-1), max)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: i64,
    pub max_ms: i64,
}

impl Backoff {
    /// The ceiling `d` for the `attempt`th failure (1-based).
    pub fn ceiling_ms(&self, attempt: i32) -> i64 {
        let exponent = attempt.saturating_sub(1).clamp(0, 40) as u32;
        self.base_ms
            .saturating_mul(1_i64 << exponent)
            .min(self.max_ms)
            .max(0)
    }

    /// The delay for the `attempt`th failure, given `unit` drawn uniformly from [0, 1).
    pub fn delay_ms(&self, attempt: i32, unit: f64) -> i64 {
        let ceiling = self.ceiling_ms(attempt);
        let half = ceiling / 2;
        half + ((ceiling - half) as f64 * unit.clamp(0.0, 1.0)) as i64
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 1_000,
            max_ms: 3_600_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let backoff = Backoff {
            base_ms: 1_000,
            max_ms: 10_000,
        };
        assert_eq!(backoff.ceiling_ms(1), 1_000);
        assert_eq!(backoff.ceiling_ms(2), 2_000);
        assert_eq!(backoff.ceiling_ms(4), 8_000);
        assert_eq!(backoff.ceiling_ms(5), 10_000);
        assert_eq!(backoff.ceiling_ms(500), 10_000);
    }

    #[test]
    fn jitter_stays_within_half_and_full_ceiling() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay_ms(3, 0.0), 2_000);
        assert_eq!(backoff.delay_ms(3, 1.0), 4_000);
        let mid = backoff.delay_ms(3, 0.5);
        assert!((2_000..=4_000).contains(&mid));
    }

    #[test]
    fn states_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>().unwrap(), state);
        }
    }
}
