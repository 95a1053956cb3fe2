//! Fixed-window rate limits kept in the store, so they hold across every process
//! sharing it: one statement per check (`RateLimitStore::hit_rate_limit`).

use pilot_domain::UnixMillis;
use pilot_store::RateLimitCount;

use crate::AppState;
use crate::error::ApiError;

/// A limit: `limit` requests per `window_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub limit: i64,
    pub window_ms: i64,
}

/// The state of one bucket after counting a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub limit: i64,
    pub remaining: i64,
    pub resets_at: UnixMillis,
    pub allowed: bool,
    pub now: UnixMillis,
}

impl Verdict {
    fn from_count(limit: Limit, count: RateLimitCount, now: UnixMillis) -> Verdict {
        Verdict {
            limit: limit.limit,
            remaining: (limit.limit - count.count).max(0),
            resets_at: count.resets_at,
            allowed: count.count <= limit.limit,
            now,
        }
    }

    /// Whole seconds until the window resets, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let ms = (self.resets_at.0 - self.now.0).max(0) as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// Counts one request against `bucket`.
pub async fn check(state: &AppState, bucket: &str, limit: Limit) -> Result<Verdict, ApiError> {
    let now = state.clock.now();
    let count = state
        .store
        .hit_rate_limit(bucket, limit.window_ms, now)
        .await?;
    Ok(Verdict::from_count(limit, count, now))
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
