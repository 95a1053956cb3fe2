//! Runs and their steps' results.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Environment, RunId, UnixMillis, WorkspaceId};

/// Largest step output kept, in bytes of JSON; a larger one is cut and marked.
pub const MAX_STEP_OUTPUT_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted and committed; waiting for a worker.
    Queued,
    Running,
    /// Paused durably in a `delay` step.
    Waiting,
    Success,
    Failed,
    /// A `condition` step was false: stopped on purpose.
    Filtered,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Success => "success",
            RunStatus::Failed => "failed",
            RunStatus::Filtered => "filtered",
        }
    }

    pub fn parse(raw: &str) -> Option<RunStatus> {
        [
            RunStatus::Queued,
            RunStatus::Running,
            RunStatus::Waiting,
            RunStatus::Success,
            RunStatus::Failed,
            RunStatus::Filtered,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Success | RunStatus::Failed | RunStatus::Filtered
        )
    }
}

/// What fired a run. Its `triggerType` is its pilot's trigger type when it fired;
/// this says how it was fired: through the API (`POST …/run`, MCP's `run_pilot`), by
/// the pilot's webhook URL, its schedule, a mail to its address, or as a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FiredBy {
    Api,
    Webhook,
    Schedule,
    Email,
    Retry,
}

impl FiredBy {
    pub const ALL: [FiredBy; 5] = [
        FiredBy::Api,
        FiredBy::Webhook,
        FiredBy::Schedule,
        FiredBy::Email,
        FiredBy::Retry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FiredBy::Api => "api",
            FiredBy::Webhook => "webhook",
            FiredBy::Schedule => "schedule",
            FiredBy::Email => "email",
            FiredBy::Retry => "retry",
        }
    }

    pub fn parse(raw: &str) -> Option<FiredBy> {
        FiredBy::ALL.into_iter().find(|f| f.as_str() == raw)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Started and not ended yet: recorded before a step that does I/O begins, with
    /// its attempts counted, so a step that runs again after a crash shows it.
    Running,
    Success,
    Failed,
    /// Not run: an earlier step failed or filtered the run.
    Skipped,
    /// This `condition` step was false.
    Filtered,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Running => "running",
            StepStatus::Success => "success",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Filtered => "filtered",
        }
    }

    pub fn parse(raw: &str) -> Option<StepStatus> {
        [
            StepStatus::Running,
            StepStatus::Success,
            StepStatus::Failed,
            StepStatus::Skipped,
            StepStatus::Filtered,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// Caps a step's output at [`MAX_STEP_OUTPUT_BYTES`]: a larger value becomes
/// `{"truncated": true, "preview": "<first bytes of its JSON>"}`.
pub fn cap_output(output: serde_json::Value) -> serde_json::Value {
    let text = output.to_string();
    if text.len() <= MAX_STEP_OUTPUT_BYTES {
        return output;
    }
    let mut cut = MAX_STEP_OUTPUT_BYTES - 64;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    serde_json::json!({"truncated": true, "bytes": text.len(), "preview": &text[..cut]})
}

/// The `Idempotency-Key` an `http` step's request carries (unless the step sets its
/// own), so that a receiver can drop the duplicates at-least-once delivery makes:
/// `pilot-` and 32 lowercase hex digits, the first 16 bytes of SHA-256 over
/// `pilot-http-step:{workspace}:{environment}:{run id}:{run created at, Unix ms}:
/// {step index}:{step id}`.
///
/// The same for every execution of one step of one run — again after a crash, and
/// across the step's own retries — and new for a retried run (a new run, with its
/// own id and creation time). The workspace and the creation instant make two Pilot
/// installations' keys for their run 7 differ.
pub fn step_idempotency_key(
    workspace: WorkspaceId,
    environment: Environment,
    run: RunId,
    run_created_at: UnixMillis,
    step_index: usize,
    step_id: &str,
) -> String {
    let seed = format!(
        "pilot-http-step:{workspace}:{}:{run}:{}:{step_index}:{step_id}",
        environment.as_str(),
        run_created_at.0
    );
    let digest = Sha256::digest(seed.as_bytes());
    format!("pilot-{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_stable_per_run_and_step_and_new_per_run() {
        let key = |run: i64, created: i64, index: usize, id: &str| {
            step_idempotency_key(
                WorkspaceId(3),
                Environment::Live,
                RunId(run),
                UnixMillis(created),
                index,
                id,
            )
        };
        let first = key(7, 1_700_000_000_000, 1, "notify");
        assert_eq!(first, key(7, 1_700_000_000_000, 1, "notify"));
        assert!(
            first.starts_with("pilot-") && first.len() == 6 + 32,
            "{first}"
        );
        assert!(
            first[6..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        for other in [
            key(8, 1_700_000_000_000, 1, "notify"),
            key(7, 1_700_000_000_001, 1, "notify"),
            key(7, 1_700_000_000_000, 2, "notify"),
            key(7, 1_700_000_000_000, 1, "other"),
            step_idempotency_key(
                WorkspaceId(4),
                Environment::Live,
                RunId(7),
                UnixMillis(1_700_000_000_000),
                1,
                "notify",
            ),
            step_idempotency_key(
                WorkspaceId(3),
                Environment::Test,
                RunId(7),
                UnixMillis(1_700_000_000_000),
                1,
                "notify",
            ),
        ] {
            assert_ne!(other, first);
        }
    }

    #[test]
    fn large_outputs_are_cut_and_marked() {
        let small = serde_json::json!({"a": 1});
        assert_eq!(cap_output(small.clone()), small);
        let big = serde_json::Value::String("é".repeat(MAX_STEP_OUTPUT_BYTES));
        let capped = cap_output(big);
        assert_eq!(capped["truncated"], true);
        assert!(capped.to_string().len() <= MAX_STEP_OUTPUT_BYTES + 100);
    }

    #[test]
    fn statuses_round_trip_by_name() {
        assert_eq!(RunStatus::parse("filtered"), Some(RunStatus::Filtered));
        assert_eq!(StepStatus::parse("skipped"), Some(StepStatus::Skipped));
        assert_eq!(StepStatus::parse("running"), Some(StepStatus::Running));
        assert!(RunStatus::parse("done").is_none());
        assert!(RunStatus::Success.is_terminal() && !RunStatus::Waiting.is_terminal());
    }
}
