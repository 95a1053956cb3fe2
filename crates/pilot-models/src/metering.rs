//! Metering: every call is recorded through a [`UsageSink`], on behalf of the
//! [`CallContext`] it was made for.
//!
//! The model layer does not know where records go; the binary hands it a sink that
//! writes the store's append-only usage table. A call whose usage cannot be recorded
//! fails with `ModelError::Metering` rather than handing out an unmetered answer.

use std::sync::Mutex;

use async_trait::async_trait;
use pilot_domain::{Environment, UsageRecord, WorkspaceId};

/// Why a record could not be kept.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Where usage records go.
#[async_trait]
pub trait UsageSink: Send + Sync + 'static {
    async fn record(&self, record: UsageRecord) -> Result<(), SinkError>;
}

/// On whose behalf a call is made: the workspace and environment charged, and the
/// thing that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    pub workspace_id: Option<WorkspaceId>,
    /// Decides the provider: `live` calls go to `models.live_provider`, `test` calls to
    /// `models.test_provider`.
    pub environment: Environment,
    /// `run_step`, `deliberation_stage`, `draft`, `cli`, …
    pub owner_kind: String,
    pub owner_id: String,
}

impl CallContext {
    pub fn new(
        environment: Environment,
        owner_kind: impl Into<String>,
        owner_id: impl Into<String>,
    ) -> CallContext {
        CallContext {
            workspace_id: None,
            environment,
            owner_kind: owner_kind.into(),
            owner_id: owner_id.into(),
        }
    }

    pub fn in_workspace(mut self, workspace_id: WorkspaceId) -> CallContext {
        self.workspace_id = Some(workspace_id);
        self
    }
}

/// A sink that keeps records in memory: for tests, benchmarks and tools.
#[derive(Debug, Default)]
pub struct MemorySink {
    records: Mutex<Vec<UsageRecord>>,
}

impl MemorySink {
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// The records so far, oldest first.
    pub fn records(&self) -> Vec<UsageRecord> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[async_trait]
impl UsageSink for MemorySink {
    async fn record(&self, record: UsageRecord) -> Result<(), SinkError> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(record);
        Ok(())
    }
}
