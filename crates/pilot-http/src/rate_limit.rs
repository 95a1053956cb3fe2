//! Rate limits kept in the store, so they hold across every process sharing it: one
//! statement per check (`RateLimitStore::hit_rate_limit`), by GCRA — a limit of `L`
//! per window is a bucket of `L` requests refilled one every `window / L`, with no
//! window boundary a second burst could fit around. `pilot_store::RateLimit` explains
//! the algorithm; [`Verdict`] is what a response tells the client about it.

use pilot_domain::UnixMillis;
use pilot_store::RateLimitHit;

use crate::AppState;
use crate::error::ApiError;

/// A limit: `limit` requests per `window_ms`.
pub use pilot_store::RateLimit as Limit;

/// The state of one bucket after counting a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub limit: i64,
    /// Requests that would go through right now, after this one.
    pub remaining: i64,
    pub allowed: bool,
    pub now: UnixMillis,
    /// When one more request becomes available: a refused client may retry then.
    pub next_at: UnixMillis,
    /// When all `limit` requests are available again.
    pub full_at: UnixMillis,
}

impl Verdict {
    fn from_hit(limit: Limit, hit: RateLimitHit, now: UnixMillis) -> Verdict {
        let state = limit.state(hit.tat, now);
        Verdict {
            limit: limit.limit,
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

/// Counts one request against `bucket`.
pub async fn check(state: &AppState, bucket: &str, limit: Limit) -> Result<Verdict, ApiError> {
    let now = state.clock.now();
    let hit = state.store.hit_rate_limit(bucket, limit, now).await?;
    Ok(Verdict::from_hit(limit, hit, now))
}

/// Counts one request and answers `429` with `Retry-After` when over the limit.
pub async fn enforce(state: &AppState, bucket: &str, limit: Limit) -> Result<Verdict, ApiError> {
    let verdict = check(state, bucket, limit).await?;
    if verdict.allowed {
        Ok(verdict)
    } else {
        Err(ApiError::rate_limited(
            format!(
                "Rate limit exceeded: {} requests per {} seconds. Retry after {} seconds.",
                limit.limit,
                limit.window_ms / 1000,
                verdict.retry_after_secs()
            ),
            verdict.retry_after_secs(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_says_when_one_more_and_when_all_are_back() {
        let limit = Limit {
            limit: 60,
            window_ms: 3_600_000,
        };
        let now = UnixMillis(1_700_000_000_500);
        // The first request of a full bucket: 59 left, the spent one back in a minute.
        let first = Verdict::from_hit(
            limit,
            RateLimitHit {
                allowed: true,
                tat: now.plus_ms(60_000),
            },
            now,
        );
        assert_eq!((first.remaining, first.next_in_secs()), (59, 60));
        assert_eq!(first.full_at_secs(), 1_700_000_061);
        // Refused with the bucket empty: retry once one request has refilled.
        let refused = Verdict::from_hit(
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
