//! The model layer's usage records, written to the store's append-only usage table.

use std::sync::Arc;

use async_trait::async_trait;
use pilot_domain::UsageRecord;
use pilot_models::{SinkError, UsageSink};
use pilot_store::Store;

/// Writes every model call's [`UsageRecord`] to the store.
pub struct StoreUsageSink {
    store: Arc<dyn Store>,
}

impl StoreUsageSink {
    pub fn new(store: Arc<dyn Store>) -> StoreUsageSink {
        StoreUsageSink { store }
    }
}

#[async_trait]
impl UsageSink for StoreUsageSink {
    async fn record(&self, record: UsageRecord) -> Result<(), SinkError> {
        self.store.record_usage(&record).await?;
        Ok(())
    }
}
