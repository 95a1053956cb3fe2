//! `POST /v1/api/webhooks/endpoints/{id}/recover` `{"since": RFC 3339}`: one manual
//! attempt for every `dead` or `failed` delivery of the endpoint created since then
//! — after an outage of the receiver, say. `since` may reach back at most
//! [`RECOVER_MAX_AGE_MS`] (14 days) and not into the future; anything else, or a
//! string that is not an RFC 3339 instant with its offset, is a validation error
//! naming `since`. Answered `202` with how many were queued.

use pilot_domain::webhook::{EndpointId, RECOVER_MAX_AGE_MS};
use pilot_domain::{Environment, Principal, Scope, UnixMillis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Tenant, endpoint_not_found};
use crate::accounts::Operator;
use crate::answer::{Answer, Replayable};
use crate::error::OpError;
use crate::idempotency::Idempotency;
use crate::operations::Operations;
use crate::views::RecoveryQueued;
use crate::views::deliberation::rfc3339;

/// The body: from when.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// An RFC 3339 instant with its offset (`2026-04-29T10:04:12Z`), at most 14 days
    /// back and not in the future: deliveries created at or after it are replayed.
    #[schema(format = DateTime, example = "2026-04-29T10:04:12Z")]
    pub since: String,
}

impl Operations {
    /// A key's recovery (`deliberations:write`), at most once per `Idempotency-Key`.
    /// `request` is the body as the transport decoded it, or why it could not.
    #[tracing::instrument(
        name = "recover_endpoint",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn recover_endpoint(
        &self,
        who: &Principal,
        id: &str,
        request: Result<RecoverRequest, OpError>,
        idempotency: Option<Idempotency>,
    ) -> Answer<Replayable<RecoveryQueued>> {
        let tenant = match Tenant::of_key(who, Scope::DeliberationsWrite) {
            Ok(tenant) => tenant,
            Err(refused) => return Answer::err(refused),
        };
        let (ops, id) = (self.clone(), id.to_owned());
        self.idempotently(who, idempotency, async move {
            Answer::new(match request {
                Ok(request) => ops.recover_in(tenant, &id, &request.since).await,
                Err(error) => Err(error),
            })
        })
        .await
    }

    /// A recovery in `workspace`'s `environment`, for an operator; `since` as the
    /// operator wrote it.
    #[tracing::instrument(
        name = "recover_endpoint_as_operator",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn recover_endpoint_as_operator(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        id: &str,
        since: &str,
    ) -> Result<RecoveryQueued, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        self.recover_in(tenant, id, since).await
    }

    async fn recover_in(
        &self,
        tenant: Tenant,
        id: &str,
        since: &str,
    ) -> Result<RecoveryQueued, OpError> {
        let now = self.now();
        let since = recover_since(since, now)?;
        let id = EndpointId::parse(id).ok_or_else(endpoint_not_found)?;
        let queued = self
            .store()
            .recover_endpoint(tenant.workspace_id, tenant.environment, &id, since, now)
            .await?
            .ok_or_else(endpoint_not_found)?;
        tracing::info!(endpoint = %id, queued, "endpoint recovery queued");
        Ok(RecoveryQueued {
            endpoint_id: id.to_string(),
            queued,
            since: rfc3339(since),
        })
    }
}

/// `since` as an instant within the bounds, or a validation error naming it.
fn recover_since(raw: &str, now: UnixMillis) -> Result<UnixMillis, OpError> {
    let since = UnixMillis::from_rfc3339(raw).ok_or_else(|| {
        OpError::validation(
            "since must be an RFC 3339 instant with its offset, such as 2026-04-29T10:04:12Z",
        )
    })?;
    if since > now {
        return Err(OpError::validation("since must not be in the future"));
    }
    if since < now.plus_ms(-RECOVER_MAX_AGE_MS) {
        return Err(OpError::validation(
            "since must be at most 14 days back: older deliveries cannot be recovered",
        ));
    }
    Ok(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = UnixMillis(1_777_456_000_000);

    fn at(ms: UnixMillis) -> String {
        ms.to_rfc3339().unwrap()
    }

    #[test]
    fn since_reaches_back_fourteen_days_to_now() {
        let oldest = NOW.plus_ms(-RECOVER_MAX_AGE_MS);
        assert_eq!(recover_since(&at(oldest), NOW), Ok(oldest));
        assert_eq!(recover_since(&at(NOW), NOW), Ok(NOW));
        assert_eq!(
            recover_since("2026-04-29T12:00:00+02:00", UnixMillis(1_777_456_800_000)),
            Ok(UnixMillis(1_777_456_800_000))
        );
    }

    #[test]
    fn since_out_of_bounds_or_unreadable_is_named() {
        for (raw, says) in [
            (
                at(NOW.plus_ms(-RECOVER_MAX_AGE_MS - 1_000)),
                "at most 14 days back",
            ),
            (at(NOW.plus_ms(1_000)), "not be in the future"),
            ("yesterday".to_owned(), "RFC 3339"),
            ("2026-04-29T10:04:12".to_owned(), "RFC 3339"),
            (String::new(), "RFC 3339"),
        ] {
            let error = recover_since(&raw, NOW).unwrap_err();
            assert_eq!(error.code, crate::ErrorCode::ValidationError, "{raw}");
            assert!(error.message.starts_with("since must"), "{raw}: {error}");
            assert!(error.message.contains(says), "{raw}: {error}");
        }
    }
}
