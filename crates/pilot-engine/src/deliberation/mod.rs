//! Deliberations (DESIGN §4): a question answered by a panel of five personas, or by
//! one routed call.
//!
//! * [`config`] — `[deliberations]`: estimates, limits, budgets, quorum, thresholds,
//!   guardrails, panel overrides;
//! * [`personas`] — the built-in panels, five per use case;
//! * [`pipeline`] — [`Pipeline::run`]: the stages ([`stages`]) of `deliberation1`
//!   and the one call of `smartroute1`, under the processing budget, each call's
//!   outcome handed to a [`PanelRecorder`] as it ends;
//! * [`confidence`] — the confidence index, computed in code from the panel's work;
//! * [`driver`] — [`drive_deliberation`]: the `deliberate` job, from `queued` to a
//!   terminal state in the store;
//! * [`guardrails`] — [`guardrails::screen`]: the `content_blocked` check every
//!   submission passes, from the API or from a pilot's `deliberate` step.
//!
//! Every model call is metered to the deliberation's tenant (`CallContext` owner
//! `deliberation_stage`, id `{deliberation}:{stage}:{persona}`), and every answer is
//! validated in code ([`answers`]) whatever schema was asked for.

pub mod answers;
mod calls;
mod checkpoints;
pub mod confidence;
pub mod config;
pub mod dream_team;
pub mod driver;
pub mod guardrails;
mod order;
pub mod personas;
pub mod pipeline;
mod prompts;
pub mod recorder;
mod schemas;
mod stages;

pub use answers::Stance;
pub use config::{DeliberationsConfig, DeliberationsConfigError, PersonaConfig};
pub use dream_team::{Advanced, Pause};
pub use driver::{DeliberationDeps, drive_deliberation};
pub use personas::{PANEL_SIZE, builtin_panel};
pub use pipeline::{Outcome, Pipeline, PipelineError, PipelineFailure};
pub use recorder::{MemoryRecorder, PanelRecorder, RecordError};
