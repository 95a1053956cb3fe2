use async_trait::async_trait;
use pilot_domain::{Environment, Role, UnixMillis, UserId, WorkspaceId};
use sqlx::PgConnection;

use super::PostgresStore;
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

async fn consume(
    conn: &mut PgConnection,
    digest: &str,
    purpose: LinkPurpose,
    now: UnixMillis,
) -> StoreResult<Option<UserLinkRecord>> {
    let sql = concat!(
        "UPDATE user_links SET used_at = $3 WHERE token_digest = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3 RETURNING ",
        link_columns!()
    );
    sqlx::query_as::<_, LinkRow>(sql)
        .bind(digest)
        .bind(purpose.as_str())
        .bind(now.0)
        .fetch_optional(conn)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

async fn insert_user(
    conn: &mut PgConnection,
    email: &str,
    password_hash: Option<&str>,
    workspace_id: WorkspaceId,
    role: Role,
    now: UnixMillis,
) -> StoreResult<UserRecord> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now.0)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO memberships (user_id, workspace_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(workspace_id.0)
    .bind(role.as_str())
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    Ok(UserRecord {
        id: UserId(id),
        email: email.to_owned(),
        password_hash: password_hash.map(str::to_owned),
        disabled_at: None,
        created_at: now,
    })
}

#[async_trait]
impl UserStore for PostgresStore {
    async fn has_users(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_user_link(&self, link: &NewUserLink) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_links (token_digest, purpose, user_id, workspace_id, email, role, \
             expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&link.digest)
        .bind(link.purpose.as_str())
        .bind(link.user_id.map(|id| id.0))
        .bind(link.workspace_id.0)
        .bind(&link.email)
        .bind(link.role.as_str())
        .bind(link.expires_at.0)
        .bind(link.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consume_user_link(
        &self,
        digest: &str,
        purpose: LinkPurpose,
        now: UnixMillis,
    ) -> StoreResult<Option<UserLinkRecord>> {
        let mut conn = self.pool.acquire().await?;
        consume(&mut conn, digest, purpose, now).await
    }

    async fn create_first_owner(
        &self,
        digest: &str,
        email: &str,
        password_hash: &str,
        now: UnixMillis,
    ) -> StoreResult<Option<MemberRecord>> {
        let mut tx = self.pool.begin().await?;
        // A lock that conflicts with itself: two setups take turns, and the second
        // sees the first one's user.
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let Some(link) = consume(&mut tx, digest, LinkPurpose::Setup, now).await? else {
            return Ok(None);
        };
        let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&mut *tx)
            .await?;
        if taken {
            tx.commit().await?;
            return Ok(None);
        }
        let user = insert_user(
            &mut tx,
            email,
            Some(password_hash),
            link.workspace_id,
            Role::Owner,
            now,
        )
        .await?;
        let workspace_name: String =
            sqlx::query_scalar("SELECT name FROM workspaces WHERE id = $1")
                .bind(link.workspace_id.0)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(Some(MemberRecord {
            user,
            workspace_id: link.workspace_id,
            workspace_name,
            role: Role::Owner,
        }))
    }

    async fn create_user(
        &self,
        email: &str,
        workspace_id: WorkspaceId,
        role: Role,
        now: UnixMillis,
    ) -> StoreResult<UserRecord> {
        let mut tx = self.pool.begin().await?;
        let user = insert_user(&mut tx, email, None, workspace_id, role, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    async fn memberships(&self, user_id: UserId) -> StoreResult<Vec<MemberRecord>> {
        let rows = sqlx::query_as::<_, MemberRow>(concat!(
            "SELECT ",
            member_columns!(),
            " FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 \
             ORDER BY u.id, m.workspace_id"
        ))
        .bind(user_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn list_members(
        &self,
        workspace_id: Option<WorkspaceId>,
    ) -> StoreResult<Vec<MemberRecord>> {
        let rows = sqlx::query_as::<_, MemberRow>(concat!(
            "SELECT ",
            member_columns!(),
            " FROM memberships m JOIN users u ON u.id = m.user_id \
             JOIN workspaces w ON w.id = m.workspace_id \
             WHERE ($1::bigint IS NULL OR m.workspace_id = $1) ORDER BY u.id, m.workspace_id"
        ))
        .bind(workspace_id.map(|id| id.0))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn set_password(&self, user_id: UserId, password_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn disable_user(&self, user_id: UserId, now: UnixMillis) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let changed =
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
                .bind(now.0)
                .bind(user_id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(user_id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(changed == 1)
    }

    async fn create_session(&self, s: &NewSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_digest, user_id, workspace_id, csrf_token, created_at, \
             last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(&s.digest)
        .bind(s.user_id.0)
        .bind(s.workspace_id.0)
        .bind(&s.csrf_token)
        .bind(s.now.0)
        .bind(s.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_session(&self, digest: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s JOIN users u ON u.id = s.user_id \
             JOIN workspaces w ON w.id = s.workspace_id \
             JOIN memberships m ON m.user_id = s.user_id AND m.workspace_id = s.workspace_id \
             WHERE s.token_digest = $1"
        ))
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn touch_session(&self, digest: &str, now: UnixMillis) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_digest = $2")
            .bind(now.0)
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, digest: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_user_sessions(&self, user_id: UserId, keep: Option<&str>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR token_digest <> $2)",
        )
        .bind(user_id.0)
        .bind(keep)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn dashboard_key(
        &self,
        user_id: UserId,
        workspace_id: WorkspaceId,
        environment: Environment,
        key: &NewApiKey,
        now: UnixMillis,
    ) -> StoreResult<KeyLookup> {
        sqlx::query(
            "INSERT INTO api_keys (workspace_id, environment, name, prefix, digest, scopes, \
             webhook_secret_sealed, created_at, user_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (user_id, workspace_id, environment) WHERE user_id IS NOT NULL \
             DO NOTHING",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.digest)
        .bind(key.scopes.to_string())
        .bind(&key.webhook_secret_sealed)
        .bind(now.0)
        .bind(user_id.0)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query_as::<_, KeyLookupRow>(concat!(
            "SELECT ",
            key_columns!(),
            ", w.name AS workspace_name FROM api_keys k \
             JOIN workspaces w ON w.id = k.workspace_id \
             WHERE k.user_id = $1 AND k.workspace_id = $2 AND k.environment = $3"
        ))
        .bind(user_id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }
}
