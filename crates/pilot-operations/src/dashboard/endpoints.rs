//! The tenant's webhook endpoints in trouble: disabled, or failing now (consecutive
//! failures above zero). A tenant has few endpoints: the list is `list_endpoints`'
//! read, filtered.

use pilot_domain::webhook::EndpointState;
use pilot_domain::{Principal, Scope};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{EndpointList, EndpointView};

impl Operations {
    /// Oldest first (`deliberations:read`, as `list_endpoints`).
    #[tracing::instrument(
        name = "failing_endpoints",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn failing_endpoints(&self, who: &Principal) -> Result<EndpointList, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        let endpoints = self
            .store()
            .list_endpoints(who.workspace_id, who.environment)
            .await?;
        Ok(EndpointList {
            data: endpoints
                .iter()
                .filter(|e| e.state == EndpointState::Disabled || e.consecutive_failures > 0)
                .map(EndpointView::of)
                .collect(),
        })
    }
}
