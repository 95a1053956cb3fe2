use async_trait::async_trait;
use pilot_domain::UnixMillis;

use super::PostgresStore;
use crate::error::StoreResult;
use crate::rate_limits::{RateLimit, RateLimitHit, RateLimitStore};

/// GCRA in one upsert (see `rate_limits.rs`): `$2` now, `$3` the interval `T`, `$4`
/// the burst `L · T`. The conflicting row is locked and re-read before `SET` runs,
/// and every `SET` expression reads it as it was, so concurrent checks on any node
/// are applied one after another.
const HIT: &str = "INSERT INTO rate_limits (bucket, tat, allowed) \
     VALUES ($1, CASE WHEN $3 <= $4 THEN $2 + $3 ELSE $2 END, $3 <= $4) \
     ON CONFLICT (bucket) DO UPDATE SET \
        allowed = GREATEST(rate_limits.tat, $2) + $3 - $2 <= $4, \
        tat = CASE WHEN GREATEST(rate_limits.tat, $2) + $3 - $2 <= $4 \
                   THEN GREATEST(rate_limits.tat, $2) + $3 ELSE rate_limits.tat END \
     RETURNING tat, allowed";

#[async_trait]
impl RateLimitStore for PostgresStore {
    async fn hit_rate_limit(
        &self,
        bucket: &str,
        limit: RateLimit,
        now: UnixMillis,
    ) -> StoreResult<RateLimitHit> {
        let (tat, allowed): (i64, bool) = sqlx::query_as(HIT)
            .bind(bucket)
            .bind(now.0)
            .bind(limit.interval_ms())
            .bind(limit.burst_ms())
            .fetch_one(&self.pool)
            .await?;
        Ok(RateLimitHit {
            allowed,
            tat: UnixMillis(tat),
        })
    }

    async fn purge_rate_limits(&self, now: UnixMillis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM rate_limits WHERE tat <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
