use async_trait::async_trait;
use pilot_domain::UnixMillis;
use rusqlite::params;
use serde_json::Value;

use super::SqliteStore;
use super::row;
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
        let (scope, key, body_hash) = (scope.to_owned(), key.to_owned(), body_hash.to_owned());
        // The claim and the look at what holds the key are one write on the one writer
        // thread, so concurrent callers are answered one after another.
        self.writer
            .write(move |conn| {
                // Absent, or expired and taken over in place: either way this caller owns it.
                let claimed: Option<i32> = row::optional_scalar(
                    conn,
                    "INSERT INTO idempotency_keys (scope, key, body_hash, created_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (scope, key) DO UPDATE SET body_hash = excluded.body_hash, \
                        status = NULL, response = NULL, created_at = excluded.created_at \
                     WHERE idempotency_keys.created_at < ?5 \
                     RETURNING 1",
                    params![scope, key, body_hash, now.0, now.0.saturating_sub(ttl_ms)],
                )?;
                match claimed {
                    Some(_) => Ok(IdempotencyBegin::Started),
                    None => row::one::<IdempotencyRow>(
                        conn,
                        "SELECT body_hash, status, response FROM idempotency_keys \
                         WHERE scope = ?1 AND key = ?2",
                        params![scope, key],
                    )?
                    .outcome(&body_hash),
                }
            })
            .await
    }

    async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &Value,
    ) -> StoreResult<()> {
        let (scope, key, body) = (scope.to_owned(), key.to_owned(), json_text(body));
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE idempotency_keys SET status = ?1, response = ?2 \
                     WHERE scope = ?3 AND key = ?4 AND status IS NULL",
                    params![i32::from(status), body, scope, key],
                )
                .map(drop)
            })
            .await
    }

    async fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM idempotency_keys \
                     WHERE scope = ?1 AND key = ?2 AND status IS NULL",
                    params![scope, key],
                )
                .map(drop)
            })
            .await
    }

    async fn purge_idempotency(&self, before: UnixMillis) -> StoreResult<u64> {
        let purged = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM idempotency_keys WHERE created_at < ?1",
                    [before.0],
                )
            })
            .await?;
        Ok(purged as u64)
    }
}
