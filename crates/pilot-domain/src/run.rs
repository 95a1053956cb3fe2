//! Runs and their steps' results.

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

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
