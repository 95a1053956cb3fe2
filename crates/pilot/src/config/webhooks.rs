//! `[webhooks]`: signed deliveries of deliberation and run events.

use serde::Deserialize;

/// See `config.default.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Let plain `http://` webhook URLs through (development only).
    pub allow_http: bool,
    /// An attempt's time limit.
    pub timeout_ms: u64,
    /// How long attempts are kept.
    pub attempt_retention_days: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_http: false,
            timeout_ms: pilot_domain::webhook::ATTEMPT_TIMEOUT_MS,
            attempt_retention_days: 30,
        }
    }
}
