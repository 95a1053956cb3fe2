use async_trait::async_trait;
use pilot_domain::{UnixMillis, WorkspaceName};
use rusqlite::params;

use super::SqliteStore;
use super::keys::insert_key;
use super::row;
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
        let (name, keys) = (name.as_str().to_owned(), keys.to_vec());
        self.writer
            .write(move |conn| {
                let workspace: WorkspaceRecord = row::one::<WorkspaceRow>(
                    conn,
                    "INSERT INTO workspaces (name, created_at) VALUES (?1, ?2) \
                     RETURNING id, name, created_at",
                    params![name, now.0],
                )?
                .into();
                let records = keys
                    .iter()
                    .map(|key| insert_key(conn, workspace.id, key, now))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok((workspace, records))
            })
            .await
    }

    async fn list_workspaces(&self) -> StoreResult<Vec<WorkspaceRecord>> {
        let rows = self
            .readers
            .read(|conn| {
                row::all::<WorkspaceRow>(
                    conn,
                    "SELECT id, name, created_at FROM workspaces ORDER BY id",
                    [],
                )
            })
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn find_workspace(&self, name: &str) -> StoreResult<Option<WorkspaceRecord>> {
        let name = name.to_owned();
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<WorkspaceRow>(
                    conn,
                    "SELECT id, name, created_at FROM workspaces WHERE name = ?1",
                    [name],
                )
            })
            .await?;
        Ok(row.map(Into::into))
    }
}
