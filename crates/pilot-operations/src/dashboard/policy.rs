//! [`DashboardPolicy`]: session lifetimes, sign-in limits, link lifetimes.

use std::time::Duration;

use pilot_store::RateLimit;

/// What the dashboard's accounts enforce (`[dashboard]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DashboardPolicy {
    /// A session ends this long after its last use.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however it is used.
    pub session_absolute: Duration,
    /// Sign-in attempts per email address.
    pub sign_in_per_account: RateLimit,
    /// Sign-in attempts per client address.
    pub sign_in_per_address: RateLimit,
    /// How long a setup or reset link may be used.
    pub link_ttl: Duration,
}

impl Default for DashboardPolicy {
    fn default() -> Self {
        DashboardPolicy {
            session_idle: Duration::from_secs(12 * 3600),
            session_absolute: Duration::from_secs(7 * 24 * 3600),
            sign_in_per_account: RateLimit {
                limit: 5,
                window_ms: 60_000,
            },
            sign_in_per_address: RateLimit {
                limit: 20,
                window_ms: 60_000,
            },
            link_ttl: Duration::from_secs(24 * 3600),
        }
    }
}
