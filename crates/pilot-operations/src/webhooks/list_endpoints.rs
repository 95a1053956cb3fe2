//! `GET /v1/api/webhooks/endpoints`: the tenant's endpoints, oldest first, each with
//! its state, consecutive failures, last success and last failure. An endpoint is
//! made the first time an event is delivered to its URL.

use pilot_domain::{Environment, Principal, Scope};

use super::Tenant;
use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{EndpointList, EndpointView};

impl Operations {
    /// A key's endpoints (`deliberations:read`).
    #[tracing::instrument(
        name = "list_endpoints",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_endpoints(&self, who: &Principal) -> Result<EndpointList, OpError> {
        let tenant = Tenant::of_key(who, Scope::DeliberationsRead)?;
        self.endpoints_of(tenant).await
    }

    /// `workspace`'s endpoints in `environment`, for an operator.
    #[tracing::instrument(
        name = "list_endpoints_as_operator",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn list_endpoints_as_operator(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
    ) -> Result<EndpointList, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        self.endpoints_of(tenant).await
    }

    async fn endpoints_of(&self, tenant: Tenant) -> Result<EndpointList, OpError> {
        let endpoints = self
            .store()
            .list_endpoints(tenant.workspace_id, tenant.environment)
            .await?;
        Ok(EndpointList {
            data: endpoints.iter().map(EndpointView::of).collect(),
        })
    }
}
