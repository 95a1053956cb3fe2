//! `[limits]`: what the operations enforce the same way on every interface — the
//! Deliberations rate limits per key, and how long an idempotency key replays its
//! first answer. (They were `[deliberations]`' `post_per_hour`, `get_per_minute` and
//! `idempotency_ttl_hours` while only the REST surfaces enforced them; the binary
//! still reads those, with a warning.)
//!
//! ```toml
//! [limits]
//! deliberation_submissions_per_hour = 60
//! deliberation_reads_per_minute = 600
//! idempotency_ttl_hours = 24
//! ```

use pilot_store::RateLimit;
use serde::Deserialize;

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Deliberations submitted per key per hour (the seed: 60).
    pub deliberation_submissions_per_hour: u32,
    /// Reads of a deliberation per key per minute (the seed: 600).
    pub deliberation_reads_per_minute: u32,
    /// How long an idempotency key replays its first answer, on every operation
    /// that takes one.
    pub idempotency_ttl_hours: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            deliberation_submissions_per_hour: 60,
            deliberation_reads_per_minute: 600,
            idempotency_ttl_hours: 24,
        }
    }
}

impl LimitsConfig {
    /// The submissions bucket: the hourly limit, one back every hour / limit.
    pub fn deliberation_submissions(&self) -> RateLimit {
        RateLimit {
            limit: i64::from(self.deliberation_submissions_per_hour),
            window_ms: HOUR_MS,
        }
    }

    /// The reads bucket: the limit per minute.
    pub fn deliberation_reads(&self) -> RateLimit {
        RateLimit {
            limit: i64::from(self.deliberation_reads_per_minute),
            window_ms: MINUTE_MS,
        }
    }

    /// `idempotency_ttl_hours` in milliseconds.
    pub fn idempotency_ttl_ms(&self) -> i64 {
        i64::from(self.idempotency_ttl_hours) * HOUR_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_seeds_limits() {
        let limits = LimitsConfig::default();
        assert_eq!(
            limits.deliberation_submissions(),
            RateLimit {
                limit: 60,
                window_ms: 3_600_000
            }
        );
        assert_eq!(
            limits.deliberation_reads(),
            RateLimit {
                limit: 600,
                window_ms: 60_000
            }
        );
        assert_eq!(limits.idempotency_ttl_ms(), 86_400_000);
    }
}
