//! [`UserStore`]: dashboard accounts — users, their memberships in workspaces, their
//! sessions, the single-use links that set a password, and each user's hidden
//! dashboard keys. Tokens are stored as SHA-256 digests only.
//!
//! Two writes here must hold under concurrency on both backends: a link is consumed
//! by one `UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING`, so one
//! caller gets it; and [`UserStore::create_first_owner`] consumes a setup link and
//! creates the first user in one transaction that no other can interleave with
//! (PostgreSQL locks `users`; SQLite's one writer runs it alone), so of two setups at
//! once exactly one makes an owner.

use async_trait::async_trait;
use pilot_domain::{Environment, Role, UnixMillis, UserId, WorkspaceId};

use crate::error::StoreResult;
use crate::records::{KeyLookup, NewApiKey};

/// What a single-use link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// The first owner's account, on a store without users.
    Setup,
    /// A user's password, first or forgotten.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Reset => "reset",
        }
    }

    pub fn parse(raw: &str) -> Option<LinkPurpose> {
        match raw {
            "setup" => Some(LinkPurpose::Setup),
            "reset" => Some(LinkPurpose::Reset),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewUserLink {
    pub digest: String,
    pub purpose: LinkPurpose,
    pub user_id: Option<UserId>,
    pub workspace_id: WorkspaceId,
    pub email: Option<String>,
    pub role: Role,
    pub expires_at: UnixMillis,
    pub created_at: UnixMillis,
}

/// A link as it was consumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserLinkRecord {
    pub purpose: LinkPurpose,
    pub user_id: Option<UserId>,
    pub workspace_id: WorkspaceId,
    pub email: Option<String>,
    pub role: Role,
    pub expires_at: UnixMillis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    /// An Argon2id PHC string; `None` until the user sets a password.
    pub password_hash: Option<String>,
    pub disabled_at: Option<UnixMillis>,
    pub created_at: UnixMillis,
}

/// A user in one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    pub user: UserRecord,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub digest: String,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub csrf_token: String,
    pub now: UnixMillis,
    pub expires_at: UnixMillis,
}

/// A session with the user and membership it stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: i64,
    pub user_id: UserId,
    pub email: String,
    pub disabled_at: Option<UnixMillis>,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
    pub csrf_token: String,
    pub created_at: UnixMillis,
    pub last_seen_at: UnixMillis,
    pub expires_at: UnixMillis,
}

#[async_trait]
pub trait UserStore {
    /// Whether any user exists at all.
    async fn has_users(&self) -> StoreResult<bool>;

    async fn create_user_link(&self, link: &NewUserLink) -> StoreResult<()>;

    /// Marks the unused, unexpired link of `purpose` with `digest` used and answers
    /// it; `None` for an unknown, used or expired one. One caller gets each link.
    async fn consume_user_link(
        &self,
        digest: &str,
        purpose: LinkPurpose,
        now: UnixMillis,
    ) -> StoreResult<Option<UserLinkRecord>>;

    /// Consumes the setup link `digest` and, if the store still has no user, creates
    /// `email` as its workspace's owner, in one transaction; `None` when the link is
    /// not usable or a user exists (the link is used up either way).
    async fn create_first_owner(
        &self,
        digest: &str,
        email: &str,
        password_hash: &str,
        now: UnixMillis,
    ) -> StoreResult<Option<MemberRecord>>;

    /// A user without a password, member of `workspace_id` as `role`. `Conflict`
    /// when the email is taken.
    async fn create_user(
        &self,
        email: &str,
        workspace_id: WorkspaceId,
        role: Role,
        now: UnixMillis,
    ) -> StoreResult<UserRecord>;

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;

    /// The user's memberships, oldest workspace first.
    async fn memberships(&self, user_id: UserId) -> StoreResult<Vec<MemberRecord>>;

    /// Every membership of `workspace_id`, or of every workspace, by user id.
    async fn list_members(
        &self,
        workspace_id: Option<WorkspaceId>,
    ) -> StoreResult<Vec<MemberRecord>>;

    async fn set_password(&self, user_id: UserId, password_hash: &str) -> StoreResult<bool>;

    /// Disables the user, deletes their sessions and revokes their dashboard keys,
    /// in one transaction. `false` when no enabled user has that id.
    async fn disable_user(&self, user_id: UserId, now: UnixMillis) -> StoreResult<bool>;

    async fn create_session(&self, session: &NewSession) -> StoreResult<()>;

    async fn find_session(&self, digest: &str) -> StoreResult<Option<SessionRecord>>;

    async fn touch_session(&self, digest: &str, now: UnixMillis) -> StoreResult<()>;

    async fn delete_session(&self, digest: &str) -> StoreResult<bool>;

    /// Deletes the user's sessions but the one with digest `keep`; how many went.
    async fn delete_user_sessions(&self, user_id: UserId, keep: Option<&str>) -> StoreResult<u64>;

    /// The user's hidden dashboard key for `(workspace_id, environment)`: inserted
    /// as `key` on first use (one row however many ask at once), else the one there.
    async fn dashboard_key(
        &self,
        user_id: UserId,
        workspace_id: WorkspaceId,
        environment: Environment,
        key: &NewApiKey,
        now: UnixMillis,
    ) -> StoreResult<KeyLookup>;
}
