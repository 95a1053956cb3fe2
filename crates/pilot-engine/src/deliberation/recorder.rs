//! Where the panel's work goes as it happens: a [`PanelRecorder`] receives one
//! [`PanelEntry`] as each call ends — an answer, a review, a revision, the synthesis,
//! a routed answer, or a call that failed (`{"error": "timeout" | "invalid_answer" |
//! "model_error"}`, no provider detail). The job driver records into the store;
//! tests and tools into memory ([`MemoryRecorder`]).

use std::sync::Mutex;

use async_trait::async_trait;
use pilot_store::PanelEntry;

/// Recording failed; the pipeline stops, deciding nothing about the deliberation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not record the panel's work: {0}")]
pub struct RecordError(pub String);

#[async_trait]
pub trait PanelRecorder: Send + Sync {
    async fn record(&self, entry: &PanelEntry) -> Result<(), RecordError>;
}

/// Keeps entries in memory, in the order they were recorded.
#[derive(Debug, Default)]
pub struct MemoryRecorder {
    entries: Mutex<Vec<PanelEntry>>,
}

impl MemoryRecorder {
    pub fn new() -> MemoryRecorder {
        MemoryRecorder::default()
    }

    pub fn entries(&self) -> Vec<PanelEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The entries of one stage (`answer`, `review`, …).
    pub fn stage(&self, stage: &str) -> Vec<PanelEntry> {
        self.entries()
            .into_iter()
            .filter(|entry| entry.stage == stage)
            .collect()
    }
}

#[async_trait]
impl PanelRecorder for MemoryRecorder {
    async fn record(&self, entry: &PanelEntry) -> Result<(), RecordError> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(entry.clone());
        Ok(())
    }
}
