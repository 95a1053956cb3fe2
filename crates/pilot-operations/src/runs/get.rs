//! One run with its per-step results.

use pilot_domain::{Principal, RunId, Scope};

use super::not_found;
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::RunView;

impl Operations {
    /// `GET /api/v1/runs/{id}`.
    #[tracing::instrument(
        name = "get_run",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn get_run(&self, who: &Principal, id: &str) -> Result<RunView, OpError> {
        authorize::require(who, Scope::PilotsRead)?;
        let id = RunId::parse(id).ok_or_else(not_found)?;
        let detail = self
            .store()
            .get_run(who.workspace_id, who.environment, id)
            .await?
            .ok_or_else(not_found)?;
        Ok(RunView::of(&detail))
    }
}
