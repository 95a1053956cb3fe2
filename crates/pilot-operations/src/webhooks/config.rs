//! `[webhooks]`: how webhooks out are checked, sent and kept.
//!
//! ```toml
//! [webhooks]
//! allow_http = false
//! attempt_retention_days = 30
//! timeout_ms = 10000
//! ```

use std::time::Duration;

use serde::Deserialize;

const DAY_MS: i64 = 24 * 3_600_000;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Let plain `http://` through as a `webhook_url` or a pilot's `notifyUrl`
    /// (development: a receiver on this machine without TLS). The address guard
    /// still applies: a loopback or private address needs `[outbound] allow_list`.
    pub allow_http: bool,
    /// How long each attempt's record (status, response excerpt, latency, error) is
    /// kept; housekeeping deletes older ones every hour. The delivery itself stays.
    pub attempt_retention_days: u32,
    /// How long an attempt may take for its 2xx to count (the Deliberations
    /// document §5: 10 seconds).
    pub timeout_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_http: false,
            attempt_retention_days: 30,
            timeout_ms: pilot_domain::webhook::ATTEMPT_TIMEOUT_MS,
        }
    }
}

impl WebhooksConfig {
    /// `attempt_retention_days` in milliseconds.
    pub fn attempt_retention_ms(&self) -> i64 {
        i64::from(self.attempt_retention_days) * DAY_MS
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_documents() {
        let config = WebhooksConfig::default();
        assert!(!config.allow_http);
        assert_eq!(config.attempt_retention_ms(), 30 * DAY_MS);
        assert_eq!(config.timeout(), Duration::from_secs(10));
    }
}
