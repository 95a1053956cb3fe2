//! §6's per-key limits: `POST /v1/api/deliberations` 60 an hour, reads 600 a minute
//! (both from [`Policy`](crate::Policy)). A request is counted once, after its scope
//! (and, for a submission, its idempotency key: a replay is not counted), and the
//! bucket's state rides on the [`Answer`] whatever it answers — the REST surface
//! shows it as `X-RateLimit-*`, `RateLimit` and `RateLimit-Policy` on every answer,
//! `429` included. The buckets are the store's GCRA (`pilot_store::RateLimit`),
//! keyed `dlb:post:<key id>` and `dlb:get:<key id>`.

use std::future::Future;

use pilot_domain::Principal;

use crate::answer::Answer;
use crate::error::OpError;
use crate::operations::Operations;

/// Which of a key's two budgets a request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Budget {
    /// Submissions, from the API and from pilots' `deliberate` steps.
    Posts,
    /// Reads of a deliberation (`GET …/{id}` and `…/result`).
    Reads,
}

impl Operations {
    /// Counts one request against `who`'s key's `budget`, then — if it is allowed —
    /// runs `work`. The answer carries the bucket's state; over the limit it is
    /// `rate_limited` with `Retry-After`. If counting itself fails, nothing was
    /// counted and the answer carries no state.
    pub(crate) async fn counted<T>(
        &self,
        who: &Principal,
        budget: Budget,
        work: impl Future<Output = Result<T, OpError>>,
    ) -> Answer<T> {
        let (name, limit) = match budget {
            Budget::Posts => ("post", self.policy().deliberation_posts),
            Budget::Reads => ("get", self.policy().deliberation_reads),
        };
        let state = match self
            .count(&format!("dlb:{name}:{}", who.key_id), limit)
            .await
        {
            Ok(state) => state,
            Err(error) => return Answer::err(error),
        };
        let result = if state.allowed {
            work.await
        } else {
            Err(OpError::rate_limited(
                format!(
                    "Rate limit exceeded ({} per {}). Retry after {} seconds.",
                    state.limit,
                    per(state.window_secs),
                    state.retry_after_secs()
                ),
                state.retry_after_secs(),
            )
            .with_rate_limit(Some(state)))
        };
        Answer {
            result,
            replayed: false,
            rate_limit: Some(state),
        }
    }
}

/// The window as the message names it.
fn per(window_secs: i64) -> String {
    match window_secs {
        3600 => "hour".to_owned(),
        60 => "minute".to_owned(),
        seconds => format!("{seconds} seconds"),
    }
}
