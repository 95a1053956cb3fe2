use async_trait::async_trait;
use pilot_domain::UnixMillis;
use serde_json::Value;

use super::SqliteStore;
use crate::deliberation_rows::IdempotencyRow;
use crate::deliberations::{IdempotencyBegin, IdempotencyStore};
use crate::error::StoreResult;
use crate::pilot_rows::json_text;

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        now: UnixMillis,
        ttl_ms: i64,
    ) -> StoreResult<IdempotencyBegin> {
        // The claim and the look at what holds the key are one transaction on the one
        // writer connection, so concurrent callers are answered one after another.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Absent, or expired and taken over in place: either way this caller owns it.
        let claimed: Option<i32> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (scope, key, body_hash, created_at) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash, \
                status = NULL, response = NULL, created_at = excluded.created_at \
             WHERE idempotency_keys.created_at < ?5 \
             RETURNING 1",
        )
        .bind(scope)
        .bind(key)
        .bind(body_hash)
        .bind(now.0)
        .bind(now.0.saturating_sub(ttl_ms))
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match claimed {
            Some(_) => IdempotencyBegin::Started,
            None => sqlx::query_as::<_, IdempotencyRow>(
                "SELECT body_hash, status, response FROM idempotency_keys \
                 WHERE scope = ?1 AND key = ?2",
            )
            .bind(scope)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?
            .outcome(body_hash)?,
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &Value,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = ?1, response = ?2 \
             WHERE scope = ?3 AND key = ?4 AND status IS NULL",
        )
        .bind(i32::from(status))
        .bind(json_text(body))
        .bind(scope)
        .bind(key)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn purge_idempotency(&self, before: UnixMillis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?1")
            .bind(before.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
