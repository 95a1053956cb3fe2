use async_trait::async_trait;
use pilot_domain::{Environment, UnixMillis, WorkspaceId};

use super::PostgresStore;
use crate::error::StoreResult;
use crate::pilot_rows::SecretRow;
use crate::pilots::{SecretRecord, SecretStore};

#[async_trait]
impl SecretStore for PostgresStore {
    async fn put_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        name: &str,
        sealed_value: &str,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        // One upsert, so concurrent puts cannot both insert; a row the upsert inserted
        // has no deleting or locking transaction yet (`xmax = 0`), one it updated has.
        let created: bool = sqlx::query_scalar(
            "INSERT INTO secrets (workspace_id, environment, name, sealed_value, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (workspace_id, environment, name) \
             DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at \
             RETURNING xmax = 0",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(name)
        .bind(sealed_value)
        .bind(now.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(created)
    }

    async fn list_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<SecretRecord>> {
        let rows = sqlx::query_as::<_, SecretRow>(
            "SELECT name, created_at, updated_at FROM secrets \
             WHERE workspace_id = $1 AND environment = $2 ORDER BY name",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(SecretRecord::from).collect())
    }

    async fn delete_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        name: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM secrets WHERE workspace_id = $1 AND environment = $2 AND name = $3",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sealed_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query_as(
            "SELECT name, sealed_value FROM secrets \
             WHERE workspace_id = $1 AND environment = $2 ORDER BY name",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}
