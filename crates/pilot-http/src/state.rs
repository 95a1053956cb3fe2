//! [`AppState`]: what every handler reaches — the operations, and the HTTP layer's
//! own settings and per-process state.

use std::sync::Arc;

use pilot_domain::MasterKey;
use pilot_engine::Clock;
use pilot_engine::deliberation::config::DeliberationsConfig;
use pilot_models::Models;
use pilot_operations::Operations;
use pilot_outbound::OutboundClient;
use pilot_store::Store;

use crate::config::HttpConfig;
use crate::stream_slots::StreamSlots;

#[derive(Clone)]
pub struct AppState {
    /// Every use case; handlers call these and nothing below them.
    pub ops: Operations,
    pub config: HttpConfig,
    /// Event streams open per key, bounded by `http.max_event_streams_per_key`.
    pub streams: Arc<StreamSlots>,
    // WIP: what the Deliberations handlers still reach directly.
    pub store: Arc<dyn Store>,
    pub master_key: MasterKey,
    pub clock: Arc<dyn Clock>,
    pub public_url: String,
    pub deliberations: Arc<DeliberationsSettings>,
    pub idempotency_ttl_ms: i64,
}

/// What the Deliberations endpoints need beyond the store.
pub struct DeliberationsSettings {
    pub config: DeliberationsConfig,
    /// Checks `webhook_url`s: HTTPS only, no private or special addresses.
    pub webhook_guard: OutboundClient,
    /// For the optional moderation call.
    pub models: Arc<Models>,
}
