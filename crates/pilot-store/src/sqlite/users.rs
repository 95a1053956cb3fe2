use async_trait::async_trait;
use pilot_domain::{Environment, Role, UnixMillis, UserId, WorkspaceId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::row;
use crate::error::StoreResult;
use crate::records::{KeyLookup, NewApiKey};
use crate::rows::{KeyLookupRow, key_columns};
use crate::user_rows::{
    LinkRow, MemberRow, SessionRow, UserRow, link_columns, member_columns, session_columns,
    user_columns,
};
use crate::users::{
    LinkPurpose, MemberRecord, NewSession, NewUserLink, SessionRecord, UserLinkRecord, UserRecord,
    UserStore,
};

fn consume(
    conn: &Connection,
    digest: &str,
    purpose: LinkPurpose,
    now: UnixMillis,
) -> StoreResult<Option<UserLinkRecord>> {
    let sql = concat!(
        "UPDATE user_links SET used_at = ?3 WHERE token_digest = ?1 AND purpose = ?2 \
         AND used_at IS NULL AND expires_at > ?3 RETURNING ",
        link_columns!()
    );
    row::optional::<LinkRow>(conn, sql, params![digest, purpose.as_str(), now.0])?
        .map(TryInto::try_into)
        .transpose()
}

fn insert_user(
    conn: &Connection,
    email: &str,
    password_hash: Option<&str>,
    workspace_id: WorkspaceId,
    role: Role,
    now: UnixMillis,
) -> StoreResult<UserRecord> {
    let id: i64 = row::scalar(
        conn,
        "INSERT INTO users (email, password_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        params![email, password_hash, now.0],
    )?;
    row::execute(
        conn,
        "INSERT INTO memberships (user_id, workspace_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, workspace_id.0, role.as_str(), now.0],
    )?;
    Ok(UserRecord {
        id: UserId(id),
        email: email.to_owned(),
        password_hash: password_hash.map(str::to_owned),
        disabled_at: None,
        created_at: now,
    })
}

fn members(conn: &Connection, filter: &str, value: Option<i64>) -> StoreResult<Vec<MemberRecord>> {
    let sql = format!(
        concat!(
            "SELECT ",
            member_columns!(),
            " FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN workspaces w ON w.id = m.workspace_id WHERE {} ORDER BY u.id, m.workspace_id"
        ),
        filter
    );
    row::all::<MemberRow>(conn, &sql, params![value])?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn has_users(&self) -> StoreResult<bool> {
        self.readers
            .read(|conn| row::scalar(conn, "SELECT EXISTS (SELECT 1 FROM users)", []))
            .await
    }

    async fn create_user_link(&self, link: &NewUserLink) -> StoreResult<()> {
        let link = link.clone();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO user_links (token_digest, purpose, user_id, workspace_id, email, \
                     role, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        link.digest,
                        link.purpose.as_str(),
                        link.user_id.map(|id| id.0),
                        link.workspace_id.0,
                        link.email,
                        link.role.as_str(),
                        link.expires_at.0,
                        link.created_at.0
                    ],
                )?;
                Ok(())
            })
            .await
    }

    async fn consume_user_link(
        &self,
        digest: &str,
        purpose: LinkPurpose,
        now: UnixMillis,
    ) -> StoreResult<Option<UserLinkRecord>> {
        let digest = digest.to_owned();
        self.writer
            .write(move |conn| consume(conn, &digest, purpose, now))
            .await
    }

    async fn create_first_owner(
        &self,
        digest: &str,
        email: &str,
        password_hash: &str,
        now: UnixMillis,
    ) -> StoreResult<Option<MemberRecord>> {
        let (digest, email, hash) = (
            digest.to_owned(),
            email.to_owned(),
            password_hash.to_owned(),
        );
        // The one writer runs this closure alone: nothing comes between the check
        // for users and the insert.
        self.writer
            .write(move |conn| {
                let Some(link) = consume(conn, &digest, LinkPurpose::Setup, now)? else {
                    return Ok(None);
                };
                let taken: bool = row::scalar(conn, "SELECT EXISTS (SELECT 1 FROM users)", [])?;
                if taken {
                    return Ok(None);
                }
                let user = insert_user(
                    conn,
                    &email,
                    Some(&hash),
                    link.workspace_id,
                    Role::Owner,
                    now,
                )?;
                let workspace_name: String = row::scalar(
                    conn,
                    "SELECT name FROM workspaces WHERE id = ?1",
                    [link.workspace_id.0],
                )?;
                Ok(Some(MemberRecord {
                    user,
                    workspace_id: link.workspace_id,
                    workspace_name,
                    role: Role::Owner,
                }))
            })
            .await
    }

    async fn create_user(
        &self,
        email: &str,
        workspace_id: WorkspaceId,
        role: Role,
        now: UnixMillis,
    ) -> StoreResult<UserRecord> {
        let email = email.to_owned();
        self.writer
            .write(move |conn| insert_user(conn, &email, None, workspace_id, role, now))
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let email = email.to_owned();
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<UserRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        user_columns!(),
                        " FROM users u WHERE u.email = ?1"
                    ),
                    [email],
                )
            })
            .await?;
        Ok(row.map(Into::into))
    }

    async fn memberships(&self, user_id: UserId) -> StoreResult<Vec<MemberRecord>> {
        self.readers
            .read(move |conn| members(conn, "m.user_id = ?1", Some(user_id.0)))
            .await
    }

    async fn list_members(
        &self,
        workspace_id: Option<WorkspaceId>,
    ) -> StoreResult<Vec<MemberRecord>> {
        self.readers
            .read(move |conn| {
                members(
                    conn,
                    "(?1 IS NULL OR m.workspace_id = ?1)",
                    workspace_id.map(|id| id.0),
                )
            })
            .await
    }

    async fn set_password(&self, user_id: UserId, password_hash: &str) -> StoreResult<bool> {
        let hash = password_hash.to_owned();
        let changed = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                    params![hash, user_id.0],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn disable_user(&self, user_id: UserId, now: UnixMillis) -> StoreResult<bool> {
        self.writer
            .write(move |conn| {
                let changed = row::execute(
                    conn,
                    "UPDATE users SET disabled_at = ?1 WHERE id = ?2 AND disabled_at IS NULL",
                    params![now.0, user_id.0],
                )?;
                row::execute(conn, "DELETE FROM sessions WHERE user_id = ?1", [user_id.0])?;
                row::execute(
                    conn,
                    "UPDATE api_keys SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                    params![now.0, user_id.0],
                )?;
                Ok(changed == 1)
            })
            .await
    }

    async fn create_session(&self, session: &NewSession) -> StoreResult<()> {
        let s = session.clone();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO sessions (token_digest, user_id, workspace_id, csrf_token, \
                     created_at, last_seen_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                    params![
                        s.digest,
                        s.user_id.0,
                        s.workspace_id.0,
                        s.csrf_token,
                        s.now.0,
                        s.expires_at.0
                    ],
                )?;
                Ok(())
            })
            .await
    }

    async fn find_session(&self, digest: &str) -> StoreResult<Option<SessionRecord>> {
        let digest = digest.to_owned();
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<SessionRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        session_columns!(),
                        " FROM sessions s JOIN users u ON u.id = s.user_id \
                         JOIN workspaces w ON w.id = s.workspace_id \
                         JOIN memberships m ON m.user_id = s.user_id \
                         AND m.workspace_id = s.workspace_id WHERE s.token_digest = ?1"
                    ),
                    [digest],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn touch_session(&self, digest: &str, now: UnixMillis) -> StoreResult<()> {
        let digest = digest.to_owned();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE sessions SET last_seen_at = ?1 WHERE token_digest = ?2",
                    params![now.0, digest],
                )?;
                Ok(())
            })
            .await
    }

    async fn delete_session(&self, digest: &str) -> StoreResult<bool> {
        let digest = digest.to_owned();
        let gone = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM sessions WHERE token_digest = ?1",
                    [digest],
                )
            })
            .await?;
        Ok(gone == 1)
    }

    async fn delete_user_sessions(&self, user_id: UserId, keep: Option<&str>) -> StoreResult<u64> {
        let keep = keep.map(str::to_owned);
        let gone = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM sessions WHERE user_id = ?1 \
                     AND (?2 IS NULL OR token_digest <> ?2)",
                    params![user_id.0, keep],
                )
            })
            .await?;
        Ok(gone as u64)
    }

    async fn dashboard_key(
        &self,
        user_id: UserId,
        workspace_id: WorkspaceId,
        environment: Environment,
        key: &NewApiKey,
        now: UnixMillis,
    ) -> StoreResult<KeyLookup> {
        let key = key.clone();
        let row = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO api_keys (workspace_id, environment, name, prefix, digest, \
                     scopes, webhook_secret_sealed, created_at, user_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT (user_id, workspace_id, environment) \
                     WHERE user_id IS NOT NULL DO NOTHING",
                    params![
                        workspace_id.0,
                        environment.as_str(),
                        key.name,
                        key.prefix,
                        key.digest,
                        key.scopes.to_string(),
                        key.webhook_secret_sealed,
                        now.0,
                        user_id.0
                    ],
                )?;
                row::one::<KeyLookupRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        key_columns!(),
                        ", w.name AS workspace_name FROM api_keys k \
                         JOIN workspaces w ON w.id = k.workspace_id \
                         WHERE k.user_id = ?1 AND k.workspace_id = ?2 AND k.environment = ?3"
                    ),
                    params![user_id.0, workspace_id.0, environment.as_str()],
                )
            })
            .await?;
        row.try_into()
    }
}
