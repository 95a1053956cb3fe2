//! The Deliberations half's operations (seed 003): submit a question, read a
//! deliberation (status-only while it runs, the full payload once it ends, its
//! panel when asked), watch its progress, read the balance and the pricing — and
//! the submission a pilot's `deliberate` step makes, which is the API's own.
//!
//! A submission answers its checks in this order, whoever submits:
//!
//! 1. the scope (`deliberations:write`), before anything is looked up;
//! 2. the idempotency key, where the transport has one: a replay answers here,
//!    uncounted, and so does a conflicting key (a pilot's step has none: its
//!    deliberation's id, derived from the run, is what makes it submit once);
//! 3. the key's submission rate limit (`limits.rs`: `dlb:post:<key id>`, shared by
//!    the API and the pilots the key set the steps of), whose state goes with every
//!    answer it was counted for, errors included;
//! 4. the request's own errors, in the transport's order (a REST body's type, its
//!    syntax, its schema), then the submission's rules (`Submission::parse`, or
//!    `Submission::new` for a step's typed parts);
//! 5. `webhook_url`, by the outbound guard (HTTPS, no private or special address);
//! 6. the guardrails (`guardrails.rs`: `content_blocked`, nothing charged);
//! 7. the reservation and the insert with its job, one store transaction
//!    (`insufficient_credits` when the balance is short).

mod balance;
mod checkpoints;
mod get;
mod guardrails;
mod limits;
mod pricing;
mod step_submitter;
mod submit;
mod watch;

pub use checkpoints::CheckpointReply;
pub use get::DeliberationQuery;
pub use watch::{DeliberationWatch, LOOK_EVERY, MAX_WATCH, WatchEvent};

use pilot_domain::{DeliberationId, Principal};
use pilot_store::DeliberationRecord;

use crate::error::OpError;
use crate::operations::Operations;

pub(crate) fn not_found() -> OpError {
    OpError::not_found("No deliberation with that id in this workspace.")
}

impl Operations {
    /// The caller's deliberation with this id; another tenant's, or an id that is
    /// not one of ours, is not found like an absent one.
    pub(crate) async fn find_deliberation(
        &self,
        who: &Principal,
        raw_id: &str,
    ) -> Result<DeliberationRecord, OpError> {
        let id = DeliberationId::parse(raw_id).ok_or_else(not_found)?;
        self.store()
            .get_deliberation(who.workspace_id, who.environment, &id)
            .await?
            .ok_or_else(not_found)
    }
}
