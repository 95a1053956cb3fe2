//! One model call's metered usage, as the append-only usage table keeps it.

use serde::{Deserialize, Serialize};

use crate::{Credits, Environment, UnixMillis, WorkspaceId};

/// What one model call consumed and cost, and on whose behalf it was made.
///
/// `usage_known` is `false` when the provider reported no token counts and the
/// numbers here are the configured estimate: usage is never recorded as a silent zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The workspace charged; `None` for operator calls (`pilot ask`).
    pub workspace_id: Option<WorkspaceId>,
    pub environment: Option<Environment>,
    /// What made the call: `run_step`, `deliberation_stage`, `draft`, `cli`, …
    pub owner_kind: String,
    /// Which one of those (a run step's id, a deliberation stage, …).
    pub owner_id: String,
    /// The configured provider's name (`scripted` for the built-in model).
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub usage_known: bool,
    pub latency_ms: i64,
    pub cost: Credits,
    pub created_at: UnixMillis,
}
