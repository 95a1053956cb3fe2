use async_trait::async_trait;
use pilot_domain::UnixMillis;
use rusqlite::params;

use super::SqliteStore;
use super::row;
use crate::error::StoreResult;
use crate::rate_limits::{RateLimit, RateLimitHit, RateLimitStore};

/// GCRA in one upsert (see `rate_limits.rs`): `?2` now, `?3` the interval `T`, `?4`
/// the burst `L · T`. Every `SET` expression reads the row as it was, so `allowed`
/// and the new TAT are decided on the same old TAT.
const HIT: &str = "INSERT INTO rate_limits (bucket, tat, allowed) \
     VALUES (?1, CASE WHEN ?3 <= ?4 THEN ?2 + ?3 ELSE ?2 END, ?3 <= ?4) \
     ON CONFLICT (bucket) DO UPDATE SET \
        allowed = MAX(rate_limits.tat, ?2) + ?3 - ?2 <= ?4, \
        tat = CASE WHEN MAX(rate_limits.tat, ?2) + ?3 - ?2 <= ?4 \
                   THEN MAX(rate_limits.tat, ?2) + ?3 ELSE rate_limits.tat END \
     RETURNING tat, allowed";

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn hit_rate_limit(
        &self,
        bucket: &str,
        limit: RateLimit,
        now: UnixMillis,
    ) -> StoreResult<RateLimitHit> {
        let bucket = bucket.to_owned();
        let (interval, burst) = (limit.interval_ms(), limit.burst_ms());
        let (tat, allowed) = self
            .writer
            .write(move |conn| {
                row::one::<(i64, bool)>(conn, HIT, params![bucket, now.0, interval, burst])
            })
            .await?;
        Ok(RateLimitHit {
            allowed,
            tat: UnixMillis(tat),
        })
    }

    async fn purge_rate_limits(&self, now: UnixMillis) -> StoreResult<u64> {
        let purged = self
            .writer
            .write(move |conn| {
                row::execute(conn, "DELETE FROM rate_limits WHERE tat <= ?1", [now.0])
            })
            .await?;
        Ok(purged as u64)
    }
}
