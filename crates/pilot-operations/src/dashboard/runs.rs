//! Every run of the tenant's pilots, newest first, narrowed by pilot, status, what
//! fired it, trigger type and a `created_at` range, `before` paging back.

use pilot_domain::{FiredBy, PilotId, Principal, RunId, RunStatus, Scope, TriggerType, UnixMillis};
use pilot_store::TenantRunsFilter;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{next_before, one_of, page_limit};
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{RunSummaryView, RunsPage};

const RUN_STATUSES: [RunStatus; 6] = [
    RunStatus::Queued,
    RunStatus::Running,
    RunStatus::Waiting,
    RunStatus::Success,
    RunStatus::Failed,
    RunStatus::Filtered,
];

/// Which runs, as the dashboard asks.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    pub pilot_id: Option<i64>,
    /// `queued`, `running`, `waiting`, `success`, `failed` or `filtered`.
    pub status: Option<String>,
    /// `api`, `webhook`, `schedule`, `email` or `retry`.
    pub fired_by: Option<String>,
    /// `manual`, `webhook`, `schedule` or `email`.
    pub trigger_type: Option<String>,
    /// Created at or after, Unix seconds.
    pub since: Option<i64>,
    /// Created before, Unix seconds.
    pub until: Option<i64>,
    /// Only runs older than this run id (the previous page's `nextBefore`).
    pub before: Option<i64>,
    /// 1 to 100, 50 unless given.
    pub limit: Option<u32>,
}

impl RunsQuery {
    fn filter(&self) -> Result<TenantRunsFilter, OpError> {
        let status = one_of(
            "status",
            self.status.as_deref(),
            RUN_STATUSES.map(|s| (s, s.as_str())),
        )?;
        let fired_by = one_of(
            "firedBy",
            self.fired_by.as_deref(),
            FiredBy::ALL.map(|f| (f, f.as_str())),
        )?;
        let trigger_type = one_of(
            "triggerType",
            self.trigger_type.as_deref(),
            TriggerType::ALL.map(|t| (t, t.as_str())),
        )?;
        let secs = |what: &str, value: Option<i64>| match value {
            Some(s) if !(0..=i64::MAX / 1000).contains(&s) => Err(OpError::validation(format!(
                "{what} must be Unix seconds, not {s}"
            ))),
            other => Ok(other.map(|s| UnixMillis(s * 1000))),
        };
        Ok(TenantRunsFilter {
            pilot_id: self.pilot_id.map(PilotId),
            status,
            fired_by,
            trigger_type,
            since: secs("since", self.since)?,
            until: secs("until", self.until)?,
            before: self.before.map(RunId),
        })
    }
}

impl Operations {
    /// The tenant's runs across its pilots (`pilots:read`, as a pilot's runs).
    #[tracing::instrument(
        name = "list_all_runs",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_all_runs(
        &self,
        who: &Principal,
        query: RunsQuery,
    ) -> Result<RunsPage, OpError> {
        authorize::require(who, Scope::PilotsRead)?;
        let filter = query.filter()?;
        let limit = page_limit(query.limit)?;
        let runs = self
            .store()
            .list_tenant_runs(who.workspace_id, who.environment, &filter, limit)
            .await?;
        Ok(RunsPage {
            next_before: next_before(&runs, limit, |r| r.id.0),
            runs: runs.iter().map(RunSummaryView::of).collect(),
        })
    }
}
