use async_trait::async_trait;
use pilot_domain::{ApiKeyId, Environment, UnixMillis, WorkspaceId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::row;
use crate::KeyStore;
use crate::error::StoreResult;
use crate::records::{ApiKeyRecord, KeyLookup, NewApiKey};
use crate::rows::{ApiKeyRow, KeyLookupRow, key_columns};

pub(super) fn insert_key(
    conn: &Connection,
    workspace_id: WorkspaceId,
    key: &NewApiKey,
    now: UnixMillis,
) -> StoreResult<ApiKeyRecord> {
    let id: i64 = row::scalar(
        conn,
        "INSERT INTO api_keys (workspace_id, environment, name, prefix, digest, scopes, \
         webhook_secret_sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        params![
            workspace_id.0,
            key.environment.as_str(),
            key.name,
            key.prefix,
            key.digest,
            key.scopes.to_string(),
            key.webhook_secret_sealed,
            now.0
        ],
    )?;
    Ok(key.stored_as(ApiKeyId(id), workspace_id, now))
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn create_api_key(
        &self,
        workspace_id: WorkspaceId,
        key: &NewApiKey,
        now: UnixMillis,
    ) -> StoreResult<ApiKeyRecord> {
        let key = key.clone();
        self.writer
            .write(move |conn| insert_key(conn, workspace_id, &key, now))
            .await
    }

    async fn list_api_keys(
        &self,
        workspace_id: WorkspaceId,
        environment: Option<Environment>,
    ) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<ApiKeyRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        key_columns!(),
                        " FROM api_keys k WHERE k.workspace_id = ?1 AND k.user_id IS NULL \
                          AND (?2 IS NULL OR k.environment = ?2) ORDER BY k.id"
                    ),
                    params![workspace_id.0, environment.map(Environment::as_str)],
                )
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn find_key_by_digest(&self, digest: &str) -> StoreResult<Option<KeyLookup>> {
        let digest = digest.to_owned();
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<KeyLookupRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        key_columns!(),
                        ", w.name AS workspace_name FROM api_keys k \
                         JOIN workspaces w ON w.id = k.workspace_id \
                         WHERE k.digest = ?1 AND k.user_id IS NULL"
                    ),
                    [digest],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn find_key_in_tenant(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        key_id: ApiKeyId,
    ) -> StoreResult<Option<KeyLookup>> {
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<KeyLookupRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        key_columns!(),
                        ", w.name AS workspace_name FROM api_keys k \
                         JOIN workspaces w ON w.id = k.workspace_id \
                         WHERE k.id = ?1 AND k.workspace_id = ?2 AND k.environment = ?3"
                    ),
                    params![key_id.0, workspace_id.0, environment.as_str()],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn revoke_api_key(
        &self,
        workspace_id: WorkspaceId,
        key_id: ApiKeyId,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let revoked = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE api_keys SET revoked_at = ?1 \
                     WHERE id = ?2 AND workspace_id = ?3 AND revoked_at IS NULL AND user_id IS NULL",
                    params![now.0, key_id.0, workspace_id.0],
                )
            })
            .await?;
        Ok(revoked == 1)
    }

    async fn touch_api_key(
        &self,
        key_id: ApiKeyId,
        now: UnixMillis,
        every_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE api_keys SET last_used_at = ?1 \
                     WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <= ?1 - ?3)",
                    params![now.0, key_id.0, every_ms],
                )
            })
            .await?;
        Ok(())
    }

    async fn sealed_webhook_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        key_id: ApiKeyId,
    ) -> StoreResult<Option<String>> {
        self.readers
            .read(move |conn| {
                row::optional_scalar(
                    conn,
                    "SELECT webhook_secret_sealed FROM api_keys \
                     WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3",
                    params![key_id.0, workspace_id.0, environment.as_str()],
                )
            })
            .await
    }
}
