//! The dashboard's accounts: people who sign in with an email and a password, their
//! sessions, the single-use links that set a password, and the [`Principal`] a
//! signed-in person calls every other operation with. One file per use case; what
//! they share is here.
//!
//! A session is a row in the store, found by its cookie token's digest; it ends
//! after [`DashboardPolicy::session_idle`] without use or
//! [`DashboardPolicy::session_absolute`] after sign-in, whichever comes first. A
//! person never holds an API key: [`dashboard_principal`](Operations::dashboard_principal)
//! backs their `Principal` with a hidden key row whose token was never kept, so it
//! authenticates nothing and no key listing shows it, while rate limits, a pilot's
//! `steps_key_id` and a deliberation's key work as for any key.
//!
//! It also holds the reads the dashboard makes across a key's tenant, each a page
//! with its cursor, each checking its scope first like every operation: `runs`
//! (every pilot's runs, filtered), `deliberations`, `usage` (model usage per UTC
//! day and model), `ledger` (the tenant's own credit ledger, over the operator's
//! body) and `endpoints` (the webhook endpoints in trouble).
//!
//! [`Principal`]: pilot_domain::Principal

mod complete_reset;
mod create_user;
mod deliberations;
mod disable_user;
mod endpoints;
mod ledger;
mod list_users;
mod owner;
mod password;
mod policy;
mod principal;
mod reset_link;
mod runs;
mod session;
mod setup;
mod sign_in;
mod sign_out;
mod usage;
mod views;

pub use deliberations::DeliberationsQuery;
pub use policy::DashboardPolicy;
pub use runs::RunsQuery;
pub use views::{SessionView, SignedIn, UserLink, UserView};

use pilot_domain::{Role, UnixMillis, UserId, UserToken, WorkspaceId};
use pilot_store::{LinkPurpose, NewSession, NewUserLink};

use crate::error::OpError;
use crate::operations::Operations;

/// What every refused link answers: unknown, used and expired alike.
pub const LINK_GONE: &str = "This link has expired or was already used.";
/// What every refused sign-in answers: unknown email, wrong password, disabled user.
pub const WRONG_CREDENTIALS: &str = "Email or password is wrong.";
/// What a request with no live session answers.
pub const SIGNED_OUT: &str = "You are not signed in, or your session has ended.";

fn secs(at: UnixMillis) -> i64 {
    at.0.div_euclid(1000)
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A link to make and store.
struct LinkFor {
    purpose: LinkPurpose,
    user_id: Option<UserId>,
    workspace_id: WorkspaceId,
    role: Role,
}

impl Operations {
    /// Stores a fresh single-use link and answers it, with its URL, for the one time
    /// it is shown.
    async fn issue_link(&self, link: LinkFor) -> Result<UserLink, OpError> {
        let token = UserToken::generate();
        let now = self.now();
        let expires_at = now.plus_ms(millis(self.policy().dashboard.link_ttl));
        self.store()
            .create_user_link(&NewUserLink {
                digest: token.digest(),
                purpose: link.purpose,
                user_id: link.user_id,
                workspace_id: link.workspace_id,
                email: None,
                role: link.role,
                expires_at,
                created_at: now,
            })
            .await?;
        let page = match link.purpose {
            LinkPurpose::Setup => "setup",
            LinkPurpose::Reset => "reset",
        };
        let base = self.policy().public_url.trim_end_matches('/');
        Ok(UserLink {
            url: format!("{base}/{page}?token={}", token.expose()),
            token: token.expose().to_owned(),
            expires_at: secs(expires_at),
        })
    }

    /// Starts a session for `user_id` in a workspace it belongs to.
    async fn start_session(
        &self,
        user_id: UserId,
        email: &str,
        workspace_id: WorkspaceId,
        workspace_name: &str,
        role: Role,
    ) -> Result<SignedIn, OpError> {
        let token = UserToken::generate();
        let csrf = UserToken::generate();
        let now = self.now();
        let expires_at = now.plus_ms(millis(self.policy().dashboard.session_absolute));
        self.store()
            .create_session(&NewSession {
                digest: token.digest(),
                user_id,
                workspace_id,
                csrf_token: csrf.expose().to_owned(),
                now,
                expires_at,
            })
            .await?;
        tracing::info!(user = user_id.0, workspace = workspace_id.0, "signed in");
        Ok(SignedIn {
            token: token.expose().to_owned(),
            csrf_token: csrf.expose().to_owned(),
            expires_at: secs(expires_at),
            session: SessionView {
                user_id: user_id.0,
                email: email.to_owned(),
                role: role.as_str().to_owned(),
                workspace_id: workspace_id.0,
                workspace_name: workspace_name.to_owned(),
                csrf_token: csrf.expose().to_owned(),
                secure_cookie: self.secure_cookie(),
            },
        })
    }

    fn secure_cookie(&self) -> bool {
        self.policy().public_url.starts_with("https://")
    }
}

/// The session's role, if it is an owner; else `403` naming what was refused.
fn require_owner(session: &SessionView, what: &str) -> Result<(), OpError> {
    if Role::parse(&session.role) == Some(Role::Owner) {
        Ok(())
    } else {
        Err(OpError::forbidden(format!("Only an owner can {what}.")))
    }
}
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

/// A page's size: 50 unless given, 1 to 100.
fn page_limit(limit: Option<u32>) -> Result<u32, OpError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(OpError::validation(format!(
            "limit must be from 1 to {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// The cursor of the page after `items`: the last one's, when the page is full.
fn next_before<T>(items: &[T], limit: u32, cursor: impl Fn(&T) -> i64) -> Option<i64> {
    if items.len() as u64 == u64::from(limit) {
        items.last().map(cursor)
    } else {
        None
    }
}

/// `raw` as one of `names`' values, or a validation error naming it and them.
fn one_of<T: Copy>(
    what: &str,
    raw: Option<&str>,
    names: impl IntoIterator<Item = (T, &'static str)>,
) -> Result<Option<T>, OpError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let names: Vec<(T, &'static str)> = names.into_iter().collect();
    names
        .iter()
        .find(|(_, name)| *name == raw)
        .map(|(value, _)| Some(*value))
        .ok_or_else(|| {
            let all: Vec<&str> = names.iter().map(|(_, name)| *name).collect();
            OpError::validation(format!("{what} {raw:?} is not one of {}", all.join(", ")))
        })
}
