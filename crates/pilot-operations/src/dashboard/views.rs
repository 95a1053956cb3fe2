//! What the dashboard's account operations answer.

use serde::Serialize;

/// A single-use setup or reset link, shown once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserLink {
    /// The link's token (shown once; the store keeps its digest).
    pub token: String,
    /// `{public_url}/setup?token=…` or `{public_url}/reset?token=…`.
    pub url: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A new session: the cookie's value and the CSRF token, shown once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// The session cookie's value.
    pub token: String,
    pub csrf_token: String,
    /// Unix seconds: the session's absolute end.
    pub expires_at: i64,
    pub session: SessionView,
}

/// A live session, as the dashboard's pages need it. Holds no secret but the CSRF
/// token its forms echo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionView {
    pub user_id: i64,
    pub email: String,
    /// `owner` or `member`.
    pub role: String,
    pub workspace_id: i64,
    pub workspace_name: String,
    pub csrf_token: String,
    /// Whether the cookie is `Secure` (the server's `public_url` is HTTPS).
    pub secure_cookie: bool,
}

/// A user in a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    /// `owner` or `member`.
    pub role: String,
    pub workspace: String,
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

impl UserView {
    pub(crate) fn of(member: &pilot_store::MemberRecord) -> UserView {
        UserView {
            id: member.user.id.0,
            email: member.user.email.clone(),
            role: member.role.as_str().to_owned(),
            workspace: member.workspace_name.clone(),
            disabled: member.user.disabled_at.is_some(),
            created_at: member.user.created_at.0,
        }
    }
}
