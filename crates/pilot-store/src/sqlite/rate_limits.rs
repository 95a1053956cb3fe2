use async_trait::async_trait;
use pilot_domain::UnixMillis;

use super::SqliteStore;
use crate::error::StoreResult;
use crate::pilot_rows::Window;
use crate::pilots::{RateLimitCount, RateLimitStore};

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn hit_rate_limit(
        &self,
        bucket: &str,
        window_ms: i64,
        now: UnixMillis,
    ) -> StoreResult<RateLimitCount> {
        let window = Window::holding(now, window_ms);
        let count: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, window_start, count) VALUES (?1, ?2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1 \
             RETURNING count",
        )
        .bind(bucket)
        .bind(window.start)
        .fetch_one(&self.writer)
        .await?;
        if count == 1 {
            // A new window began for this bucket: its ended ones are no longer needed.
            sqlx::query("DELETE FROM rate_limits WHERE bucket = ?1 AND window_start < ?2")
                .bind(bucket)
                .bind(window.start)
                .execute(&self.writer)
                .await?;
        }
        Ok(window.counted(count))
    }
}
