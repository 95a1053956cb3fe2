use async_trait::async_trait;
use pilot_domain::UnixMillis;
use rusqlite::params;

use super::SqliteStore;
use super::row;
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
        let (bucket, start) = (bucket.to_owned(), window.start);
        let count = self
            .writer
            .write(move |conn| {
                let count: i64 = row::scalar(
                    conn,
                    "INSERT INTO rate_limits (bucket, window_start, count) VALUES (?1, ?2, 1) \
                     ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1 \
                     RETURNING count",
                    params![bucket, start],
                )?;
                if count == 1 {
                    // A new window began for this bucket: its ended ones are no longer needed.
                    row::execute(
                        conn,
                        "DELETE FROM rate_limits WHERE bucket = ?1 AND window_start < ?2",
                        params![bucket, start],
                    )?;
                }
                Ok(count)
            })
            .await?;
        Ok(window.counted(count))
    }
}
