//! Every job kind Pilot runs, one per file, registered in the one list below.

mod deliberate;
mod deliver_webhook;
mod noop;
mod run_pilot;

use std::sync::Arc;

use pilot_engine::deliberation::DeliberationDeps;
use pilot_engine::runner::RunDeps;
use pilot_engine::webhooks::DeliveryDeps;
use pilot_engine::{Clock, JobRegistry};
use pilot_models::Models;
use pilot_store::Store;

pub use deliberate::Deliberate;
pub use deliver_webhook::DeliverWebhook;
pub use noop::Noop;
pub use run_pilot::RunPilot;

/// What jobs can reach.
#[derive(Clone)]
pub struct JobContext {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub models: Arc<Models>,
    /// What the step engine needs to drive pilot runs.
    pub runs: RunDeps,
    /// What the panel pipeline needs to drive deliberations.
    pub deliberations: DeliberationDeps,
    /// What webhook deliveries need.
    pub deliveries: DeliveryDeps,
}

/// The list of job kinds. A kind missing here is never run by this binary.
pub fn registry() -> JobRegistry<JobContext> {
    JobRegistry::new()
        .register::<Noop>()
        .register::<RunPilot>()
        .register::<Deliberate>()
        .register::<DeliverWebhook>()
}
