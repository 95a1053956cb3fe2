//! `[webhooks]`: how webhooks out are checked, sent and kept.
//!
//! ```toml
//! [webhooks]
//! allow_http = false
//! attempt_retention_days = 30
//! timeout_ms = 10000
//! retry_delays_secs = [60, 300, 1800, 7200, 43200]
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
    /// The retries after a failed attempt, each this many seconds after the one
    /// before (the document §5: +1 min, +5 min, +30 min, +2 h, +12 h); when the last
    /// fails the delivery is dead. 1 to 10 retries of 1 s to 24 h each. Shorter
    /// schedules are for staging and tests.
    pub retry_delays_secs: Vec<u64>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_http: false,
            attempt_retention_days: 30,
            timeout_ms: pilot_domain::webhook::ATTEMPT_TIMEOUT_MS,
            retry_delays_secs: pilot_domain::webhook::RETRY_DELAYS_MS
                .iter()
                .map(|ms| ms.unsigned_abs() / 1000)
                .collect(),
        }
    }
}

impl WebhooksConfig {
    /// `attempt_retention_days` in milliseconds.
    pub fn attempt_retention_ms(&self) -> i64 {
        i64::from(self.attempt_retention_days) * DAY_MS
    }

    /// `retry_delays_secs` in milliseconds.
    pub fn retry_delays_ms(&self) -> Vec<i64> {
        self.retry_delays_secs
            .iter()
            .map(|secs| i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
            .collect()
    }

    /// Refuses a retry schedule outside 1 to 10 retries of 1 s to 24 h.
    pub fn validate(&self) -> Result<(), String> {
        let count = self.retry_delays_secs.len();
        if !(1..=10).contains(&count) {
            return Err(format!(
                "webhooks.retry_delays_secs must list 1 to 10 delays, not {count}"
            ));
        }
        if let Some(bad) = self
            .retry_delays_secs
            .iter()
            .find(|secs| !(1..=86_400).contains(*secs))
        {
            return Err(format!(
                "webhooks.retry_delays_secs: {bad} is not from 1 to 86400 seconds"
            ));
        }
        Ok(())
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
        assert_eq!(
            config.retry_delays_ms(),
            pilot_domain::webhook::RETRY_DELAYS_MS
        );
        assert_eq!(config.validate(), Ok(()));
        let none = WebhooksConfig {
            retry_delays_secs: Vec::new(),
            ..WebhooksConfig::default()
        };
        assert!(none.validate().is_err());
        let huge = WebhooksConfig {
            retry_delays_secs: vec![1, 90_000],
            ..WebhooksConfig::default()
        };
        assert!(huge.validate().unwrap_err().contains("90000"));
        assert_eq!(config.attempt_retention_ms(), 30 * DAY_MS);
        assert_eq!(config.timeout(), Duration::from_secs(10));
    }
}
