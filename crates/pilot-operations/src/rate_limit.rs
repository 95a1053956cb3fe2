//! Rate limits as the operations enforce them: a bucket in the store, counted once
//! per request (GCRA: `pilot_store::RateLimit` explains the algorithm), and the
//! state a transport may show its client — the Deliberations surface's
//! `X-RateLimit-*` and `RateLimit` fields.

use pilot_domain::UnixMillis;
use pilot_store::{RateLimit, RateLimitHit};

use crate::error::OpError;
use crate::operations::Operations;

/// One bucket after counting a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitState {
    pub limit: i64,
    /// The window the limit is stated over, in seconds (3600 for "per hour").
    pub window_secs: i64,
    /// Requests that would go through right now, after this one.
    pub remaining: i64,
    pub allowed: bool,
    pub now: UnixMillis,
    /// When one more request becomes available: a refused client may retry then.
    pub next_at: UnixMillis,
    /// When all `limit` requests are available again.
    pub full_at: UnixMillis,
}

impl RateLimitState {
    fn from_hit(limit: RateLimit, hit: RateLimitHit, now: UnixMillis) -> RateLimitState {
        let state = limit.state(hit.tat, now);
        RateLimitState {
            limit: limit.limit,
            window_secs: limit.window_ms / 1000,
            remaining: state.remaining,
            allowed: hit.allowed,
            now,
            next_at: state.next_at,
            full_at: state.full_at,
        }
    }

    /// Whole seconds until one more request is available (0 while some are).
    pub fn next_in_secs(&self) -> u64 {
        let ms = (self.next_at.0 - self.now.0).max(0) as u64;
        ms.div_ceil(1000)
    }

    /// `Retry-After` for a refused request: whole seconds until one more is
    /// available, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.next_in_secs().max(1)
    }

    /// The Unix second by which the whole limit is available again, rounded up.
    pub fn full_at_secs(&self) -> i64 {
        self.full_at.0.div_euclid(1000) + i64::from(self.full_at.0.rem_euclid(1000) > 0)
    }
}

impl Operations {
    /// Counts one request against `bucket` and says where it stands.
    pub(crate) async fn count(
        &self,
        bucket: &str,
        limit: RateLimit,
    ) -> Result<RateLimitState, OpError> {
        let now = self.now();
        let hit = self.store().hit_rate_limit(bucket, limit, now).await?;
        Ok(RateLimitState::from_hit(limit, hit, now))
    }

    /// Counts one request against `bucket`; over the limit, `RateLimited` with the
    /// time to retry.
    pub(crate) async fn enforce(
        &self,
        bucket: &str,
        limit: RateLimit,
    ) -> Result<RateLimitState, OpError> {
        let state = self.count(bucket, limit).await?;
        if state.allowed {
            return Ok(state);
        }
        Err(OpError::rate_limited(
            format!(
                "Rate limit exceeded: {} requests per {} seconds. Retry after {} seconds.",
                limit.limit,
                limit.window_ms / 1000,
                state.retry_after_secs()
            ),
            state.retry_after_secs(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_says_when_one_more_and_when_all_are_back() {
        let limit = RateLimit {
            limit: 60,
            window_ms: 3_600_000,
        };
        let now = UnixMillis(1_700_000_000_500);
        // The first request of a full bucket: 59 left, the spent one back in a minute.
        let first = RateLimitState::from_hit(
            limit,
            RateLimitHit {
                allowed: true,
                tat: now.plus_ms(60_000),
            },
            now,
        );
        assert_eq!((first.remaining, first.next_in_secs()), (59, 60));
        assert_eq!(first.full_at_secs(), 1_700_000_061);
        assert_eq!(first.window_secs, 3600);
        // Refused with the bucket empty: retry once one request has refilled.
        let refused = RateLimitState::from_hit(
            limit,
            RateLimitHit {
                allowed: false,
                tat: now.plus_ms(3_600_000 - 1_500),
            },
            now,
        );
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after_secs(), 59);
        assert_eq!(refused.full_at_secs(), 1_700_003_599);
    }
}
