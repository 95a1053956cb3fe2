//! Every job kind Pilot runs, one per file, registered in the one list below.

mod noop;

use std::sync::Arc;

use pilot_engine::{Clock, JobRegistry};
use pilot_store::Store;

pub use noop::Noop;

/// What jobs can reach.
#[derive(Clone)]
pub struct JobContext {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

/// The list of job kinds. A kind missing here is never run by this binary.
pub fn registry() -> JobRegistry<JobContext> {
    JobRegistry::new().register::<Noop>()
}
