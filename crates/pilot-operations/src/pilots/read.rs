//! Reading pilots: the list (the seed's fields) and one pilot with its steps.

use pilot_domain::{Principal, Scope};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{PilotDetail, PilotList, PilotSummary};

impl Operations {
    /// `GET /api/v1/pilots`: the caller's pilots, newest first.
    #[tracing::instrument(
        name = "list_pilots",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_pilots(&self, who: &Principal) -> Result<PilotList, OpError> {
        authorize::require(who, Scope::PilotsRead)?;
        let pilots = self
            .store()
            .list_pilots(who.workspace_id, who.environment)
            .await?;
        Ok(PilotList {
            pilots: pilots.iter().map(PilotSummary::of).collect(),
        })
    }

    /// `GET /api/v1/pilots/{id}`: one pilot with its steps and trigger settings.
    #[tracing::instrument(
        name = "get_pilot",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn get_pilot(&self, who: &Principal, id: &str) -> Result<PilotDetail, OpError> {
        authorize::require(who, Scope::PilotsRead)?;
        let pilot = self.find_pilot(who, id).await?;
        Ok(PilotDetail::of(&pilot, self.links()))
    }
}
