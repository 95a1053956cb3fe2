use async_trait::async_trait;
use pilot_domain::{Environment, UnixMillis, WorkspaceId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::row;
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
        let (name, sealed_value) = (name.to_owned(), sealed_value.to_owned());
        // SQLite cannot tell an upsert's insert from its update, so: insert if absent,
        // else replace, in one write.
        self.writer
            .write(move |conn| {
                let inserted = row::execute(
                    conn,
                    "INSERT INTO secrets (workspace_id, environment, name, sealed_value, \
                     created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
                     ON CONFLICT DO NOTHING",
                    params![
                        workspace_id.0,
                        environment.as_str(),
                        name,
                        sealed_value,
                        now.0
                    ],
                )?;
                let created = inserted == 1;
                if !created {
                    row::execute(
                        conn,
                        "UPDATE secrets SET sealed_value = ?1, updated_at = ?2 \
                         WHERE workspace_id = ?3 AND environment = ?4 AND name = ?5",
                        params![
                            sealed_value,
                            now.0,
                            workspace_id.0,
                            environment.as_str(),
                            name
                        ],
                    )?;
                }
                Ok(created)
            })
            .await
    }

    async fn list_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<SecretRecord>> {
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<SecretRow>(
                    conn,
                    "SELECT name, created_at, updated_at FROM secrets \
                     WHERE workspace_id = ?1 AND environment = ?2 ORDER BY name",
                    params![workspace_id.0, environment.as_str()],
                )
            })
            .await?;
        Ok(rows.into_iter().map(SecretRecord::from).collect())
    }

    async fn delete_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        name: &str,
    ) -> StoreResult<bool> {
        let name = name.to_owned();
        let deleted = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM secrets \
                     WHERE workspace_id = ?1 AND environment = ?2 AND name = ?3",
                    params![workspace_id.0, environment.as_str(), name],
                )
            })
            .await?;
        Ok(deleted == 1)
    }

    async fn sealed_secrets(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<(String, String)>> {
        self.readers
            .read(move |conn| sealed_secrets(conn, workspace_id, environment))
            .await
    }
}

/// Every secret of the tenant, sealed: `(name, sealed)` by name.
pub(super) fn sealed_secrets(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
) -> StoreResult<Vec<(String, String)>> {
    row::all(
        conn,
        "SELECT name, sealed_value FROM secrets \
         WHERE workspace_id = ?1 AND environment = ?2 ORDER BY name",
        params![workspace_id.0, environment.as_str()],
    )
}
