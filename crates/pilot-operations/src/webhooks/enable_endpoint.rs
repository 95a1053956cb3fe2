//! `POST /v1/api/webhooks/endpoints/{id}/enable`: an endpoint disabled by its
//! failures (or a `410 Gone`) receives deliveries again, its failures counted from
//! zero, and the deliveries that waited for it (`disabled`) go out now — in one
//! store transaction. Answered with the endpoint and how many were released.

use pilot_domain::webhook::EndpointId;
use pilot_domain::{Environment, Principal, Scope};

use super::{Tenant, endpoint_not_found};
use crate::accounts::Operator;
use crate::answer::{Answer, Replayable};
use crate::error::OpError;
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::views::{EndpointEnabled, EndpointView};

impl Operations {
    /// A key's enabling (`deliberations:write`), at most once per `Idempotency-Key`.
    #[tracing::instrument(
        name = "enable_endpoint",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn enable_endpoint(
        &self,
        who: &Principal,
        id: &str,
        idempotency: Option<Idempotency>,
    ) -> Answer<Replayable<EndpointEnabled>> {
        let tenant = match Tenant::of_key(who, Scope::DeliberationsWrite) {
            Ok(tenant) => tenant,
            Err(refused) => return Answer::err(refused),
        };
        let (ops, id) = (self.clone(), id.to_owned());
        self.idempotently(who, idempotency, async move {
            Answer::new(ops.enable_in(tenant, &id).await)
        })
        .await
    }

    /// Enabling an endpoint of `workspace`'s `environment`, for an operator.
    #[tracing::instrument(
        name = "enable_endpoint_as_operator",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn enable_endpoint_as_operator(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        id: &str,
    ) -> Result<EndpointEnabled, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        self.enable_in(tenant, id).await
    }

    async fn enable_in(&self, tenant: Tenant, id: &str) -> Result<EndpointEnabled, OpError> {
        let id = EndpointId::parse(id).ok_or_else(endpoint_not_found)?;
        let (endpoint, released) = self
            .store()
            .enable_endpoint(tenant.workspace_id, tenant.environment, &id, self.now())
            .await?
            .ok_or_else(endpoint_not_found)?;
        tracing::info!(endpoint = %endpoint.id, released, "endpoint enabled");
        Ok(EndpointEnabled {
            endpoint: EndpointView::of(&endpoint),
            released,
        })
    }
}
