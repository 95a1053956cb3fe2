use async_trait::async_trait;
use pilot_domain::{Environment, UnixMillis, WorkspaceId};

use super::SqliteStore;
use crate::error::StoreResult;
use crate::pilot_rows::SecretRow;
use crate::pilots::{SecretRecord, SecretStore};

#[async_trait]
impl SecretStore for SqliteStore {
    async fn put_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        name: &str,
        sealed_value: &str,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        // SQLite cannot tell an upsert's insert from its update, so: insert if absent,
        // else replace, under one write lock.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(
            "INSERT INTO secrets (workspace_id, environment, name, sealed_value, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT DO NOTHING",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(name)
        .bind(sealed_value)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        let created = inserted.rows_affected() == 1;
        if !created {
            sqlx::query(
                "UPDATE secrets SET sealed_value = ?1, updated_at = ?2 \
                 WHERE workspace_id = ?3 AND environment = ?4 AND name = ?5",
            )
            .bind(sealed_value)
            .bind(now.0)
            .bind(workspace_id.0)
            .bind(environment.as_str())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn list_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<SecretRecord>> {
        let rows = sqlx::query_as::<_, SecretRow>(
            "SELECT name, created_at, updated_at FROM secrets \
             WHERE workspace_id = ?1 AND environment = ?2 ORDER BY name",
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
            "DELETE FROM secrets WHERE workspace_id = ?1 AND environment = ?2 AND name = ?3",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(name)
        .execute(&self.writer)
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
             WHERE workspace_id = ?1 AND environment = ?2 ORDER BY name",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}
