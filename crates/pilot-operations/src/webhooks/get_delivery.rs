//! `GET /v1/api/webhooks/deliveries/{id}`: one delivery with every attempt kept —
//! when, the response's status and first 2 KiB, the latency, the error.

use pilot_domain::webhook::DeliveryId;
use pilot_domain::{Environment, Principal, Scope};

use super::{Tenant, delivery_not_found};
use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::DeliveryDetailView;

impl Operations {
    /// A key's delivery (`deliberations:read`).
    #[tracing::instrument(
        name = "get_delivery",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn get_delivery(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<DeliveryDetailView, OpError> {
        let tenant = Tenant::of_key(who, Scope::DeliberationsRead)?;
        self.delivery_in(tenant, id).await
    }

    /// A delivery of `workspace`'s `environment`, for an operator.
    #[tracing::instrument(
        name = "get_delivery_as_operator",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn get_delivery_as_operator(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        id: &str,
    ) -> Result<DeliveryDetailView, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        self.delivery_in(tenant, id).await
    }

    async fn delivery_in(&self, tenant: Tenant, id: &str) -> Result<DeliveryDetailView, OpError> {
        let id = DeliveryId::parse(id).ok_or_else(delivery_not_found)?;
        let (delivery, attempts) = self
            .store()
            .get_delivery(tenant.workspace_id, tenant.environment, &id)
            .await?
            .ok_or_else(delivery_not_found)?;
        Ok(DeliveryDetailView::of(&delivery, &attempts))
    }
}
