use async_trait::async_trait;
use pilot_domain::{ApiKeyId, Environment, UnixMillis, WorkspaceId};
use sqlx::PgConnection;

use super::PostgresStore;
use crate::KeyStore;
use crate::error::StoreResult;
use crate::records::{ApiKeyRecord, KeyLookup, NewApiKey};
use crate::rows::{ApiKeyRow, KeyLookupRow, key_columns};

pub(super) async fn insert_key(
    conn: &mut PgConnection,
    workspace_id: WorkspaceId,
    key: &NewApiKey,
    now: UnixMillis,
) -> StoreResult<ApiKeyRecord> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_keys (workspace_id, environment, name, prefix, digest, scopes, \
         webhook_secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(workspace_id.0)
    .bind(key.environment.as_str())
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.digest)
    .bind(key.scopes.to_string())
    .bind(&key.webhook_secret_sealed)
    .bind(now.0)
    .fetch_one(conn)
    .await?;
    Ok(key.stored_as(ApiKeyId(id), workspace_id, now))
}

#[async_trait]
impl KeyStore for PostgresStore {
    async fn create_api_key(
        &self,
        workspace_id: WorkspaceId,
        key: &NewApiKey,
        now: UnixMillis,
    ) -> StoreResult<ApiKeyRecord> {
        let mut conn = self.pool.acquire().await?;
        insert_key(&mut conn, workspace_id, key, now).await
    }

    async fn list_api_keys(
        &self,
        workspace_id: WorkspaceId,
        environment: Option<Environment>,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys k WHERE k.workspace_id = $1 AND k.user_id IS NULL \
             AND ($2::text IS NULL OR k.environment = $2) ORDER BY k.id"
        ))
        .bind(workspace_id.0)
        .bind(environment.map(Environment::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn find_key_by_digest(&self, digest: &str) -> StoreResult<Option<KeyLookup>> {
        let row = sqlx::query_as::<_, KeyLookupRow>(concat!(
            "SELECT ",
            key_columns!(),
            ", w.name AS workspace_name FROM api_keys k \
             JOIN workspaces w ON w.id = k.workspace_id \
                         WHERE k.digest = $1 AND k.user_id IS NULL"
        ))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn find_key_in_tenant(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        key_id: ApiKeyId,
    ) -> StoreResult<Option<KeyLookup>> {
        let row = sqlx::query_as::<_, KeyLookupRow>(concat!(
            "SELECT ",
            key_columns!(),
            ", w.name AS workspace_name FROM api_keys k \
             JOIN workspaces w ON w.id = k.workspace_id \
             WHERE k.id = $1 AND k.workspace_id = $2 AND k.environment = $3"
        ))
        .bind(key_id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn revoke_api_key(
        &self,
        workspace_id: WorkspaceId,
        key_id: ApiKeyId,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE id = $2 AND workspace_id = $3 AND revoked_at IS NULL AND user_id IS NULL",
        )
        .bind(now.0)
        .bind(key_id.0)
        .bind(workspace_id.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_api_key(
        &self,
        key_id: ApiKeyId,
        now: UnixMillis,
        every_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 \
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $1 - $3)",
        )
        .bind(now.0)
        .bind(key_id.0)
        .bind(every_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sealed_webhook_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        key_id: ApiKeyId,
    ) -> StoreResult<Option<String>> {
        let sealed = sqlx::query_scalar::<_, String>(
            "SELECT webhook_secret_sealed FROM api_keys \
             WHERE id = $1 AND workspace_id = $2 AND environment = $3",
        )
        .bind(key_id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(sealed)
    }
}
