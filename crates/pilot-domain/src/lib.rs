//! Pilot's domain: the types every other layer speaks, validated once at the edge.
//!
//! This crate does no I/O: no sockets, no files, no database, no async runtime. It
//! holds what an API key *is* (and how one is generated, parsed and digested), what a
//! scope allows, which environment a request lives in, what a job looks like and how
//! its retries back off, how secrets are sealed under the master key, and what model
//! calls cost (`Credits`, `Price`, `UsageRecord`), and where "now" comes from
//! ([`Clock`]). Storage, the engine, the models, the operations and HTTP depend on
//! it; it depends on none of them.

pub mod api_key;
pub mod checkpoint;
pub mod clock;
pub mod credits;
pub mod crypto;
pub mod decimal;
pub mod deliberation;
pub mod environment;
pub mod ids;
pub mod job;
pub mod pilot;
pub mod principal;
pub mod run;
pub mod schedule;
pub mod scope;
pub mod secret;
pub mod step;
pub mod step_schema;
pub mod step_schema_limits;
pub mod step_secrets;
pub mod template;
pub mod template_checks;
pub mod time;
pub mod trigger_payload;
pub mod usage;
pub mod user;
pub mod webhook;
pub mod webhook_token;
pub mod workspace;

pub use api_key::{ApiKeyToken, KeyFormatError, WebhookSecret};
pub use checkpoint::{CheckpointAnswer, CheckpointKind, CheckpointOffer};
pub use clock::{Clock, ManualClock, SystemClock};
pub use credits::{Credits, MICROS_PER_CREDIT, Price};
pub use crypto::{CryptoError, MasterKey};
pub use deliberation::{
    Channel, DeliberationId, DeliberationStatus, Difficulty, EstimateTable, FailureCode, Mode,
    Submission, UseCase,
};
pub use environment::Environment;
pub use ids::{ApiKeyId, JobId, PilotId, RunId, UserId, WorkspaceId};
pub use job::{Backoff, JobState, NewJob};
pub use pilot::{PilotStatus, Title, TriggerType};
pub use principal::Principal;
pub use run::{FiredBy, RunStatus, StepStatus};
pub use schedule::{CatchUp, Schedule};
pub use scope::{Scope, Scopes};
pub use secret::SecretName;
pub use step::{Step, StepErrors, StepKind, Steps};
pub use time::UnixMillis;
pub use usage::UsageRecord;
pub use user::{Email, Role, UserToken, check_password};
pub use webhook_token::WebhookToken;
pub use workspace::WorkspaceName;
