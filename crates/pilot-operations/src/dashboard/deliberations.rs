//! The tenant's deliberations, newest first, with a status if asked, `before` (a
//! position the page hands out) paging back.

use pilot_domain::{DeliberationStatus, Principal, Scope};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{next_before, one_of, page_limit};
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{DeliberationSummaryView, DeliberationsPage};

/// Which deliberations, as the dashboard asks.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliberationsQuery {
    /// `queued`, `running`, `completed` or `failed`.
    pub status: Option<String>,
    /// The previous page's `next_before`.
    pub before: Option<i64>,
    /// 1 to 100, 50 unless given.
    pub limit: Option<u32>,
}

impl Operations {
    /// The tenant's deliberations (`deliberations:read`, as one deliberation).
    #[tracing::instrument(
        name = "list_deliberations",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_deliberations(
        &self,
        who: &Principal,
        query: DeliberationsQuery,
    ) -> Result<DeliberationsPage, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        let status = one_of(
            "status",
            query.status.as_deref(),
            DeliberationStatus::ALL.iter().map(|s| (*s, s.as_str())),
        )?;
        let limit = page_limit(query.limit)?;
        let items = self
            .store()
            .list_deliberations(
                who.workspace_id,
                who.environment,
                status,
                query.before,
                limit,
            )
            .await?;
        Ok(DeliberationsPage {
            data: items.iter().map(DeliberationSummaryView::of).collect(),
            next_before: next_before(&items, limit, |d| d.seq),
        })
    }
}
