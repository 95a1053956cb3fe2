//! [`AppState`]: what every handler reaches — the operations, and the HTTP layer's
//! own settings and per-process state.

use std::sync::Arc;

use pilot_operations::Operations;

use crate::config::HttpConfig;
use crate::stream_slots::StreamSlots;

#[derive(Clone)]
pub struct AppState {
    /// Every use case; handlers call these and nothing below them.
    pub ops: Operations,
    pub config: HttpConfig,
    /// Event streams open per key, bounded by `http.max_event_streams_per_key`.
    pub streams: Arc<StreamSlots>,
}
