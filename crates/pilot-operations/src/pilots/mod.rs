//! The Pilots half's pilot operations (seed 000): list, read, create (drafting the
//! steps from plain English unless they are sent), change, delete, fire a run, page
//! through runs. Each checks its scope first and reads only the caller's tenant.

mod create;
mod delete;
mod draft;
pub(crate) mod fire;
pub mod input;
mod read;
mod runs;
pub(crate) mod steps_scope;
mod update;

pub use draft::{DraftPilot, DraftedSteps};
pub use input::{CreatePilot, ScheduleBody, UpdatePilot};
pub use runs::RunsQuery;

use pilot_domain::{PilotId, Principal};
use pilot_store::PilotRecord;

use crate::error::OpError;
use crate::operations::Operations;

pub(crate) fn not_found() -> OpError {
    OpError::not_found("Pilot not found.")
}

impl Operations {
    /// The caller's pilot with this id; another tenant's, or an id that cannot be
    /// one, is not found like an absent one.
    pub(crate) async fn find_pilot(
        &self,
        who: &Principal,
        raw_id: &str,
    ) -> Result<PilotRecord, OpError> {
        let id = PilotId::parse(raw_id).ok_or_else(not_found)?;
        self.store()
            .get_pilot(who.workspace_id, who.environment, id)
            .await?
            .ok_or_else(not_found)
    }
}
