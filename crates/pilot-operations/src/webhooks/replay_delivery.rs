//! `POST /v1/api/webhooks/deliveries/{id}/replay`: one more attempt, now, whatever
//! the delivery's state. It is a manual attempt: it does not restart the retry
//! schedule or move a pending delivery's next attempt, and it can only make the
//! delivery `succeeded`. Answered `202` with the delivery as it stands; the attempt
//! shows in its detail once made.

use pilot_domain::webhook::DeliveryId;
use pilot_domain::{Environment, Principal, Scope};

use super::{Tenant, delivery_not_found};
use crate::accounts::Operator;
use crate::answer::{Answer, Replayable};
use crate::error::OpError;
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::views::DeliveryView;

impl Operations {
    /// A key's replay (`deliberations:write`), at most once per `Idempotency-Key`.
    #[tracing::instrument(
        name = "replay_delivery",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn replay_delivery(
        &self,
        who: &Principal,
        id: &str,
        idempotency: Option<Idempotency>,
    ) -> Answer<Replayable<DeliveryView>> {
        let tenant = match Tenant::of_key(who, Scope::DeliberationsWrite) {
            Ok(tenant) => tenant,
            Err(refused) => return Answer::err(refused),
        };
        let (ops, id) = (self.clone(), id.to_owned());
        self.idempotently(who, idempotency, async move {
            Answer::new(ops.replay_in(tenant, &id).await)
        })
        .await
    }

    /// A replay in `workspace`'s `environment`, for an operator.
    #[tracing::instrument(
        name = "replay_delivery_as_operator",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn replay_delivery_as_operator(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        id: &str,
    ) -> Result<DeliveryView, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        self.replay_in(tenant, id).await
    }

    async fn replay_in(&self, tenant: Tenant, id: &str) -> Result<DeliveryView, OpError> {
        let id = DeliveryId::parse(id).ok_or_else(delivery_not_found)?;
        let delivery = self
            .store()
            .replay_delivery(tenant.workspace_id, tenant.environment, &id, self.now())
            .await?
            .ok_or_else(delivery_not_found)?;
        tracing::info!(delivery = %delivery.id, "delivery replay queued");
        Ok(DeliveryView::of(&delivery))
    }
}
