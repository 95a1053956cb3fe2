//! Rows of the accounts tables as both backends read them (see `users.rs`).

use pilot_domain::{Role, UnixMillis, UserId, WorkspaceId};

use crate::error::StoreError;
use crate::row_decode::from_sqlite_row;
use crate::users::{LinkPurpose, MemberRecord, SessionRecord, UserLinkRecord, UserRecord};

fn role(raw: &str) -> Result<Role, StoreError> {
    Role::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("role {raw:?}")))
}

/// The columns of a [`UserRow`], of `users u`.
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.password_hash, u.disabled_at, u.created_at"
    };
}
pub(crate) use user_columns;

/// The columns of a [`MemberRow`]: `users u`, `memberships m`, `workspaces w`.
macro_rules! member_columns {
    () => {
        "u.id, u.email, u.password_hash, u.disabled_at, u.created_at, \
         m.workspace_id, w.name AS workspace_name, m.role"
    };
}
pub(crate) use member_columns;

/// The columns of a [`SessionRow`]: `sessions s`, `users u`, `memberships m`,
/// `workspaces w`.
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, u.email, u.disabled_at, s.workspace_id, w.name AS workspace_name, \
         m.role, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at"
    };
}
pub(crate) use session_columns;

/// What a consumed link's `RETURNING` lists: a [`LinkRow`].
macro_rules! link_columns {
    () => {
        "purpose, user_id, workspace_id, email, role, expires_at"
    };
}
pub(crate) use link_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    password_hash: Option<String>,
    disabled_at: Option<i64>,
    created_at: i64,
}

from_sqlite_row!(UserRow {
    id,
    email,
    password_hash,
    disabled_at,
    created_at
});

impl From<UserRow> for UserRecord {
    fn from(row: UserRow) -> Self {
        UserRecord {
            id: UserId(row.id),
            email: row.email,
            password_hash: row.password_hash,
            disabled_at: row.disabled_at.map(UnixMillis),
            created_at: UnixMillis(row.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    id: i64,
    email: String,
    password_hash: Option<String>,
    disabled_at: Option<i64>,
    created_at: i64,
    workspace_id: i64,
    workspace_name: String,
    role: String,
}

from_sqlite_row!(MemberRow {
    id,
    email,
    password_hash,
    disabled_at,
    created_at,
    workspace_id,
    workspace_name,
    role
});

impl TryFrom<MemberRow> for MemberRecord {
    type Error = StoreError;

    fn try_from(row: MemberRow) -> Result<Self, Self::Error> {
        Ok(MemberRecord {
            role: role(&row.role)?,
            workspace_id: WorkspaceId(row.workspace_id),
            workspace_name: row.workspace_name,
            user: UserRecord {
                id: UserId(row.id),
                email: row.email,
                password_hash: row.password_hash,
                disabled_at: row.disabled_at.map(UnixMillis),
                created_at: UnixMillis(row.created_at),
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: i64,
    user_id: i64,
    email: String,
    disabled_at: Option<i64>,
    workspace_id: i64,
    workspace_name: String,
    role: String,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

from_sqlite_row!(SessionRow {
    id,
    user_id,
    email,
    disabled_at,
    workspace_id,
    workspace_name,
    role,
    csrf_token,
    created_at,
    last_seen_at,
    expires_at
});

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        Ok(SessionRecord {
            id: row.id,
            user_id: UserId(row.user_id),
            email: row.email,
            disabled_at: row.disabled_at.map(UnixMillis),
            workspace_id: WorkspaceId(row.workspace_id),
            workspace_name: row.workspace_name,
            role: role(&row.role)?,
            csrf_token: row.csrf_token,
            created_at: UnixMillis(row.created_at),
            last_seen_at: UnixMillis(row.last_seen_at),
            expires_at: UnixMillis(row.expires_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    purpose: String,
    user_id: Option<i64>,
    workspace_id: i64,
    email: Option<String>,
    role: String,
    expires_at: i64,
}

from_sqlite_row!(LinkRow {
    purpose,
    user_id,
    workspace_id,
    email,
    role,
    expires_at
});

impl TryFrom<LinkRow> for UserLinkRecord {
    type Error = StoreError;

    fn try_from(row: LinkRow) -> Result<Self, Self::Error> {
        Ok(UserLinkRecord {
            purpose: LinkPurpose::parse(&row.purpose)
                .ok_or_else(|| StoreError::Corrupt(format!("link purpose {:?}", row.purpose)))?,
            user_id: row.user_id.map(UserId),
            workspace_id: WorkspaceId(row.workspace_id),
            email: row.email,
            role: role(&row.role)?,
            expires_at: UnixMillis(row.expires_at),
        })
    }
}
