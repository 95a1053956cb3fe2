//! A session cookie → the signed-in person: `401` when unknown, idle too long, past
//! its absolute end, or its user is disabled. Use moves the idle deadline, written
//! at most once a minute.

use pilot_domain::UserToken;

use super::{SIGNED_OUT, SessionView, millis};
use crate::error::OpError;
use crate::operations::Operations;

/// How often a session's `last_seen_at` is written, at most.
const TOUCH_EVERY_MS: i64 = 60_000;

impl Operations {
    /// The live session whose cookie is `token`.
    #[tracing::instrument(name = "session", skip_all, fields(workspace = tracing::field::Empty))]
    pub async fn session(&self, token: &str) -> Result<SessionView, OpError> {
        let signed_out = || OpError::unauthenticated(SIGNED_OUT);
        let token = UserToken::parse(token).ok_or_else(signed_out)?;
        let digest = token.digest();
        let found = self
            .store()
            .find_session(&digest)
            .await?
            .ok_or_else(signed_out)?;
        let now = self.now();
        let idle_end = found
            .last_seen_at
            .plus_ms(millis(self.policy().dashboard.session_idle));
        if found.disabled_at.is_some() || now >= found.expires_at || now >= idle_end {
            self.store().delete_session(&digest).await?;
            return Err(signed_out());
        }
        tracing::Span::current().record("workspace", found.workspace_id.0);
        if now.0 - found.last_seen_at.0 >= TOUCH_EVERY_MS {
            self.store().touch_session(&digest, now).await?;
        }
        Ok(SessionView {
            user_id: found.user_id.0,
            email: found.email,
            role: found.role.as_str().to_owned(),
            workspace_id: found.workspace_id.0,
            workspace_name: found.workspace_name,
            csrf_token: found.csrf_token,
            secure_cookie: self.secure_cookie(),
        })
    }
}
