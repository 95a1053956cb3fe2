//! Deleting a pilot, with its runs and their results.

use pilot_domain::{PilotId, Principal, Scope};

use super::not_found;
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;

impl Operations {
    /// `DELETE /api/v1/pilots/{id}`.
    #[tracing::instrument(
        name = "delete_pilot",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn delete_pilot(&self, who: &Principal, id: &str) -> Result<(), OpError> {
        authorize::require(who, Scope::PilotsWrite)?;
        let id = PilotId::parse(id).ok_or_else(not_found)?;
        let deleted = self
            .store()
            .delete_pilot(who.workspace_id, who.environment, id)
            .await?;
        if deleted { Ok(()) } else { Err(not_found()) }
    }
}
