//! Pilot's engine: the workers that drive the durable job queue.
//!
//! The queue's rows live in the store ([`pilot_store::JobStore`]); this crate decides
//! *when* to touch them. A [`Worker`] claims batches of due jobs under a lease, runs
//! each through the [`JobRegistry`] (every job kind is a [`BackgroundJob`] type
//! registered in one list), extends its leases by heartbeat while they run, settles
//! them — completed jobs are deleted in batches, failed ones backed off with jitter or
//! buried — and reaps leases whose worker vanished. Time comes from a [`Clock`], so
//! tests drive leases and backoff by hand.
//!
//! The [`deliberation`] module runs the Deliberations half's panel pipeline and its
//! `deliberate` job.
//!
//! Delivery is at least once: a job whose worker dies runs again after its lease
//! expires, so handlers must be idempotent (the step engine records each step's
//! result as it ends and resumes after the last one recorded).

pub mod deliberation;
pub mod drafting;
mod job;
mod registry;
pub mod runner;
pub mod steps;
pub mod webhooks;
mod worker;

// The clock lives in the domain; re-exported (and reachable as `crate::clock`) so
// the engine's paths keep working.
pub use job::{BackgroundJob, JobError, JobMeta, JobOutcome, new_job};
use pilot_domain::clock;
pub use pilot_domain::{Clock, ManualClock, SystemClock};
pub use registry::JobRegistry;
pub use worker::{Worker, WorkerConfig, WorkerReport};
