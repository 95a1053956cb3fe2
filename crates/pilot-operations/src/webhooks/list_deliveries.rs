//! `GET /v1/api/webhooks/deliveries`: the tenant's deliveries, newest first,
//! `?status=` one of the five states, `?endpoint=` one endpoint's, `?before=` (a
//! delivery id, the previous page's `next_before`) pages back, `?limit=` 1 to 100
//! (default 20). Every filter that does not parse, an empty one included, is named
//! in one validation error.
//! A well-formed endpoint or delivery id that is not the tenant's matches nothing.

use pilot_domain::webhook::{DeliveryId, DeliveryState, EndpointId};
use pilot_domain::{Environment, Principal, Scope, decimal};
use pilot_store::DeliveryQuery;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Tenant;
use crate::accounts::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{DeliveryPage, DeliveryView};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// `?status=&endpoint=&before=&limit=`, as the client wrote them.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this state.
    #[param(value_type = Option<DeliveryState>)]
    pub status: Option<String>,
    /// Only deliveries to this endpoint (`wep_…`).
    #[param(pattern = "^wep_[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
    pub endpoint: Option<String>,
    /// Only deliveries older than this one (`dlv_…`, the previous page's
    /// `next_before`).
    #[param(pattern = "^dlv_[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
    pub before: Option<String>,
    /// How many, 1 to 100 (default 20).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl DeliveriesQuery {
    /// The store's query, or every problem with the filters in one validation error.
    fn parse(&self) -> Result<DeliveryQuery, OpError> {
        let mut problems = Vec::new();
        let state = self.status.as_deref().and_then(|raw| {
            raw.parse::<DeliveryState>()
                .map_err(|message| problems.push(message))
                .ok()
        });
        let endpoint_id = self.endpoint.as_deref().and_then(|raw| {
            let id = EndpointId::parse(raw);
            if id.is_none() {
                problems.push("endpoint must be an endpoint id (wep_…)".to_owned());
            }
            id
        });
        let before = self.before.as_deref().and_then(|raw| {
            let id = DeliveryId::parse(raw);
            if id.is_none() {
                problems.push("before must be a delivery id (dlv_…)".to_owned());
            }
            id
        });
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => decimal::parse::<u32>(raw)
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .unwrap_or_else(|| {
                    problems.push(format!(
                        "limit must be a plain decimal number from 1 to {MAX_LIMIT}"
                    ));
                    DEFAULT_LIMIT
                }),
        };
        if !problems.is_empty() {
            return Err(OpError::validation(problems.join("; ")));
        }
        Ok(DeliveryQuery {
            state,
            endpoint_id,
            before,
            limit,
        })
    }
}

impl Operations {
    /// A key's deliveries (`deliberations:read`).
    #[tracing::instrument(
        name = "list_deliveries",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_deliveries(
        &self,
        who: &Principal,
        query: &DeliveriesQuery,
    ) -> Result<DeliveryPage, OpError> {
        let tenant = Tenant::of_key(who, Scope::DeliberationsRead)?;
        self.deliveries_of(tenant, query).await
    }

    /// `workspace`'s deliveries in `environment`, for an operator.
    #[tracing::instrument(
        name = "list_deliveries_as_operator",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn list_deliveries_as_operator(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        query: &DeliveriesQuery,
    ) -> Result<DeliveryPage, OpError> {
        let tenant = self.operated_tenant(workspace, environment).await?;
        self.deliveries_of(tenant, query).await
    }

    async fn deliveries_of(
        &self,
        tenant: Tenant,
        query: &DeliveriesQuery,
    ) -> Result<DeliveryPage, OpError> {
        let query = query.parse()?;
        let store = self.store();
        let (workspace, environment) = (tenant.workspace_id, tenant.environment);
        let found = store
            .list_deliveries(workspace, environment, &query)
            .await?;
        // A full page may be the last: look one further (the store's pages stop at
        // 100, so asking for one more than the page cannot tell).
        let next_before = match found.last() {
            Some(last) if found.len() == query.limit as usize => {
                let beyond = DeliveryQuery {
                    before: Some(last.id.clone()),
                    limit: 1,
                    ..query.clone()
                };
                let more = store
                    .list_deliveries(workspace, environment, &beyond)
                    .await?;
                (!more.is_empty()).then(|| last.id.to_string())
            }
            _ => None,
        };
        Ok(DeliveryPage {
            data: found.iter().map(DeliveryView::of).collect(),
            has_more: next_before.is_some(),
            next_before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(status: &str, endpoint: &str, before: &str, limit: &str) -> DeliveriesQuery {
        let given = |raw: &str| (!raw.is_empty()).then(|| raw.to_owned());
        DeliveriesQuery {
            status: given(status),
            endpoint: given(endpoint),
            before: given(before),
            limit: given(limit),
        }
    }

    #[test]
    fn no_filters_is_the_newest_twenty() {
        assert_eq!(
            query("", "", "", "").parse().unwrap(),
            DeliveryQuery {
                limit: 20,
                ..DeliveryQuery::default()
            }
        );
    }

    #[test]
    fn every_filter_reads_its_own_kind_of_value() {
        let parsed = query(
            "dead",
            "wep_01HV4Z2X8Q9T7M3N5P6R8S0W2Y",
            "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2Y",
            "100",
        )
        .parse()
        .unwrap();
        assert_eq!(parsed.state, Some(DeliveryState::Dead));
        assert_eq!(
            parsed.endpoint_id.unwrap().as_str(),
            "wep_01HV4Z2X8Q9T7M3N5P6R8S0W2Y"
        );
        assert_eq!(
            parsed.before.unwrap().as_str(),
            "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2Y"
        );
        assert_eq!(parsed.limit, 100);
    }

    #[test]
    fn every_bad_filter_is_named_at_once() {
        let error = query("sent", "dlv_01HV4Z2X8Q9T7M3N5P6R8S0W2Y", "42", "0")
            .parse()
            .unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::ValidationError);
        assert_eq!(
            error.message,
            "status must be one of pending, succeeded, failed, dead, disabled; \
             endpoint must be an endpoint id (wep_…); \
             before must be a delivery id (dlv_…); \
             limit must be a plain decimal number from 1 to 100"
        );
        let empty = DeliveriesQuery {
            status: Some(String::new()),
            endpoint: Some(String::new()),
            before: Some(String::new()),
            limit: Some(String::new()),
        };
        assert_eq!(
            empty
                .parse()
                .unwrap_err()
                .message
                .matches(" must be ")
                .count(),
            4,
            "an empty filter is refused, not ignored"
        );
        for limit in ["101", "+5", "05", "-1", "ten"] {
            let error = query("", "", "", limit).parse().unwrap_err();
            assert!(error.message.starts_with("limit must"), "{limit}");
        }
    }
}
