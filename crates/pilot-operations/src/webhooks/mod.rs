//! Webhooks out, managed (issue 12): the deliveries a workspace environment's events
//! made — listed, read with every attempt, replayed one at a time — and the
//! endpoints they go to — listed, recovered (every dead or failed delivery since an
//! instant, replayed), enabled again after they were disabled; and the signing
//! secret of the tenant's run events. The store writes deliveries with the events
//! they report and records attempts as the sender makes them (`pilot_store`'s
//! `WebhookStore`); these operations only read and steer.
//!
//! Each use case has two entries over one body: a key's (`Principal`), on the
//! Deliberations surface — scope first, `deliberations:read` to read and
//! `deliberations:write` to replay, recover or enable, then the key's own workspace
//! and environment, the writes under an `Idempotency-Key` when one is sent — and an
//! operator's (`…_as_operator`: a workspace by name and an environment, for the
//! CLI). The signing secret is the operator's alone: it is a secret in clear, and no
//! key is shown one after it was issued.
//!
//! Ids are read with `DeliveryId::parse` / `EndpointId::parse`: a malformed id, an
//! unknown one and another tenant's are the same `not_found`.
//!
//! - `list_deliveries.rs`: newest first, filtered by status and endpoint, paged;
//! - `get_delivery.rs`: one delivery with its attempts;
//! - `replay_delivery.rs`: one manual attempt now;
//! - `recover_endpoint.rs`: a manual attempt for each dead or failed delivery of an
//!   endpoint since an instant at most [`RECOVER_MAX_AGE_MS`] back;
//! - `list_endpoints.rs`, `enable_endpoint.rs`;
//! - `signing_secret.rs`: show (made on first use) and rotate;
//! - `config.rs`: `[webhooks]`.
//!
//! [`RECOVER_MAX_AGE_MS`]: pilot_domain::webhook::RECOVER_MAX_AGE_MS

mod config;
mod enable_endpoint;
mod get_delivery;
mod list_deliveries;
mod list_endpoints;
mod recover_endpoint;
mod replay_delivery;
mod signing_secret;

pub use config::WebhooksConfig;
pub use list_deliveries::DeliveriesQuery;
pub use recover_endpoint::RecoverRequest;

use pilot_domain::{Environment, Principal, Scope, WorkspaceId};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;

/// Whose deliveries and endpoints: a key's workspace and environment, or the ones an
/// operator named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tenant {
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
}

impl Tenant {
    /// The tenant of `who`, once it holds `scope` (checked before anything is read).
    fn of_key(who: &Principal, scope: Scope) -> Result<Tenant, OpError> {
        authorize::require(who, scope)?;
        Ok(Tenant::of(who))
    }

    pub(crate) fn of(who: &Principal) -> Tenant {
        Tenant {
            workspace_id: who.workspace_id,
            environment: who.environment,
        }
    }
}

fn delivery_not_found() -> OpError {
    OpError::not_found("No delivery with that id in this workspace and environment.")
}

fn endpoint_not_found() -> OpError {
    OpError::not_found("No webhook endpoint with that id in this workspace and environment.")
}

impl Operations {
    /// Checks a URL that events will be delivered to (a deliberation's
    /// `webhook_url`, a pilot's `notifyUrl`), named `field` in the refusal: the
    /// webhook guard's scheme (`https`, unless `[webhooks] allow_http`) and address
    /// rules (no private, loopback or other special address unless `[outbound]
    /// allow_list` permits it), after resolving its host.
    pub(crate) async fn check_webhook_url(&self, field: &str, url: &str) -> Result<(), OpError> {
        self.services()
            .webhook_guard
            .check_url(url)
            .await
            .map(drop)
            .map_err(|e| OpError::validation(format!("{field} is not allowed: {e}")))
    }

    /// The tenant an operator acts on: `workspace`'s `environment`.
    async fn operated_tenant(
        &self,
        workspace: &str,
        environment: Environment,
    ) -> Result<Tenant, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        Ok(Tenant {
            workspace_id: workspace.id,
            environment,
        })
    }
}
