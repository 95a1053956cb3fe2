use async_trait::async_trait;
use pilot_domain::UnixMillis;
use serde_json::Value;

use super::PostgresStore;
use crate::deliberation_rows::IdempotencyRow;
use crate::deliberations::{IdempotencyBegin, IdempotencyStore};
use crate::error::StoreResult;
use crate::pilot_rows::json_text;

/// How many times a key found taken may vanish before it is read (its request
/// abandoned it, or a purge ran) and be claimed again, before this caller is told
/// the key is busy.
const CLAIM_ROUNDS: usize = 3;

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        now: UnixMillis,
        ttl_ms: i64,
    ) -> StoreResult<IdempotencyBegin> {
        for _ in 0..CLAIM_ROUNDS {
            // Absent, or expired and taken over in place: either way this caller owns
            // it. A concurrent insert of the same key makes this wait for its commit
            // and then see the row, so exactly one caller claims a key.
            let claimed: Option<i32> = sqlx::query_scalar(
                "INSERT INTO idempotency_keys (scope, key, body_hash, created_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash, \
                    status = NULL, response = NULL, created_at = excluded.created_at \
                 WHERE idempotency_keys.created_at < $5 \
                 RETURNING 1",
            )
            .bind(scope)
            .bind(key)
            .bind(body_hash)
            .bind(now.0)
            .bind(now.0.saturating_sub(ttl_ms))
            .fetch_optional(&self.pool)
            .await?;
            if claimed.is_some() {
                return Ok(IdempotencyBegin::Started);
            }
            let held = sqlx::query_as::<_, IdempotencyRow>(
                "SELECT body_hash, status, response FROM idempotency_keys \
                 WHERE scope = $1 AND key = $2",
            )
            .bind(scope)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(held) = held {
                return held.outcome(body_hash);
            }
        }
        Ok(IdempotencyBegin::InFlight)
    }

    async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &Value,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, response = $2 \
             WHERE scope = $3 AND key = $4 AND status IS NULL",
        )
        .bind(i32::from(status))
        .bind(json_text(body))
        .bind(scope)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_idempotency(&self, before: UnixMillis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
