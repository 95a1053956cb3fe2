//! `[dashboard]`: the dashboard's accounts — how long sessions and links last, and
//! how many sign-in attempts are allowed.

use std::time::Duration;

use pilot_operations::DashboardPolicy;
use pilot_store::RateLimit;
use serde::Deserialize;

/// See `config.default.toml`'s `[dashboard]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    pub session_idle_hours: u64,
    pub session_absolute_days: u64,
    pub sign_in_per_account_per_minute: u32,
    pub sign_in_per_address_per_minute: u32,
    pub link_ttl_hours: u64,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        DashboardConfig {
            session_idle_hours: 12,
            session_absolute_days: 7,
            sign_in_per_account_per_minute: 5,
            sign_in_per_address_per_minute: 20,
            link_ttl_hours: 24,
        }
    }
}

impl DashboardConfig {
    /// The policy the operations enforce.
    pub fn policy(&self) -> DashboardPolicy {
        let per_minute = |limit: u32| RateLimit {
            limit: i64::from(limit.max(1)),
            window_ms: 60_000,
        };
        DashboardPolicy {
            session_idle: Duration::from_secs(self.session_idle_hours * 3600),
            session_absolute: Duration::from_secs(self.session_absolute_days * 24 * 3600),
            sign_in_per_account: per_minute(self.sign_in_per_account_per_minute),
            sign_in_per_address: per_minute(self.sign_in_per_address_per_minute),
            link_ttl: Duration::from_secs(self.link_ttl_hours * 3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_policy_defaults() {
        assert_eq!(
            DashboardConfig::default().policy(),
            DashboardPolicy::default()
        );
    }
}
