//! Pilot's operations: every use case once, for every interface to call.
//!
//! An operation is a method on [`Operations`] over the caller's [`Principal`]
//! (workspace, environment, scopes) and its input as the transport decoded it,
//! returning a typed view ([`views`]) or one transport-neutral [`OpError`]. The
//! operations that manage tenants — workspaces, keys, credits — take an
//! [`Operator`] instead: no key may call them, and no key becomes an operator. Each
//! enforces its own scope, tenancy, rate limit, idempotency, credits and
//! guardrails, in that order, so an interface added later cannot forget one: the
//! REST surfaces, MCP, the dashboard, the triggers (webhook, email, schedule), the
//! `deliberate` step and the CLI all call these.
//!
//! Transports only extract, call and render:
//!
//! * **extract** — decode the request into the operation's input struct (the same
//!   struct for REST and MCP), or the reason it could not be decoded, which the
//!   operation answers in its turn (after its scope and idempotency checks, so that
//!   a malformed request is answered the same way on every interface);
//! * **call** — the operation, with an [`Idempotency`] key where the transport
//!   received one;
//! * **render** — the view in the transport's shape, or the error by its
//!   [`ErrorKind`] and [`ErrorCode`].
//!
//! Transports never call the store directly.
//!
//! Every public operation runs in a span named for it (`create_pilot`,
//! `fire_webhook`, `issue_key`, …) holding the caller's tenant — `workspace` and
//! `environment` of the `Principal`, or of the pilot a trigger's credential found; for
//! the operator's operations, the `operator` and the workspace named — and never
//! what would leak: keys, tokens, addresses, secret names or values, request bodies
//! (`#[tracing::instrument(skip_all, fields(…))]`). Whatever an operation logs, and
//! the work it spawns, carries that span.
//!
//! [`Principal`]: pilot_domain::Principal

mod accounts;
pub mod answer;
pub mod authorize;
pub mod dashboard;
pub mod deliberations;
mod environments;
pub mod error;
mod health;
pub mod idempotency;
mod limits;
mod operations;
pub mod pilots;
pub mod rate_limit;
pub mod runs;
pub mod secrets;
pub mod triggers;
pub mod views;
pub mod webhooks;

pub use accounts::{
    DEFAULT_WORKSPACE, MALFORMED, MISSING, NewKey, Operator, REVOKED, STARTER_TEST_CREDITS,
    UNKNOWN, unknown_workspace,
};
pub use answer::{Answer, Replayable};
pub use dashboard::{DashboardPolicy, SessionView, SignedIn, UserLink, UserView};
pub use environments::EnvironmentsConfig;
pub use error::{ErrorCode, ErrorKind, OpError, Shortfall};
pub use idempotency::{Idempotency, IdempotencyKey};
pub use limits::LimitsConfig;
pub use operations::{Operations, Policy, Services};
pub use rate_limit::RateLimitState;
pub use webhooks::WebhooksConfig;
