use async_trait::async_trait;
use pilot_domain::{UnixMillis, WorkspaceName};

use super::SqliteStore;
use super::keys::insert_key;
use crate::WorkspaceStore;
use crate::error::StoreResult;
use crate::records::{ApiKeyRecord, NewApiKey, WorkspaceRecord};
use crate::rows::WorkspaceRow;

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        keys: &[NewApiKey],
        now: UnixMillis,
    ) -> StoreResult<(WorkspaceRecord, Vec<ApiKeyRecord>)> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let workspace: WorkspaceRecord = sqlx::query_as::<_, WorkspaceRow>(
            "INSERT INTO workspaces (name, created_at) VALUES (?, ?) \
             RETURNING id, name, created_at",
        )
        .bind(name.as_str())
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?
        .into();
        let mut records = Vec::with_capacity(keys.len());
        for key in keys {
            records.push(insert_key(&mut tx, workspace.id, key, now).await?);
        }
        tx.commit().await?;
        Ok((workspace, records))
    }

    async fn list_workspaces(&self) -> StoreResult<Vec<WorkspaceRecord>> {
        let rows = sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, name, created_at FROM workspaces ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn find_workspace(&self, name: &str) -> StoreResult<Option<WorkspaceRecord>> {
        let row = sqlx::query_as::<_, WorkspaceRow>(
            "SELECT id, name, created_at FROM workspaces WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }
}
