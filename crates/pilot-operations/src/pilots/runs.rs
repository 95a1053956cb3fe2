//! A pilot's runs, newest first: the 10 most recent by default, each with its
//! per-step results; `before` (a run id) pages back, `limit` up to 100. Both are
//! plain decimal numbers (`pilot_domain::decimal`); anything else is a validation
//! error.

use pilot_domain::{Principal, RunId, Scope, decimal};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{RunPage, RunView};

const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 100;

/// `?before=&limit=`, as the client wrote them.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only runs older than this run id (the previous page's `nextBefore`).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub before: Option<String>,
    /// How many runs, 1 to 100 (default 10).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl Operations {
    /// `GET /api/v1/pilots/{id}/runs`.
    #[tracing::instrument(
        name = "list_runs",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn list_runs(
        &self,
        who: &Principal,
        id: &str,
        page: &RunsQuery,
    ) -> Result<RunPage, OpError> {
        authorize::require(who, Scope::PilotsRead)?;
        let pilot = self.find_pilot(who, id).await?;
        let before = match page.before.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(RunId::parse(raw).ok_or_else(|| {
                OpError::validation("before must be a run id (a plain decimal number)")
            })?),
        };
        let limit = match page.limit.as_deref() {
            None | Some("") => DEFAULT_LIMIT,
            Some(raw) => decimal::parse::<u32>(raw)
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    OpError::validation(format!(
                        "limit must be a plain decimal number from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };
        let runs = self
            .store()
            .list_runs(who.workspace_id, who.environment, pilot.id, before, limit)
            .await?;
        let next_before = (runs.len() as u32 == limit)
            .then(|| runs.last().map(|r| r.run.id.0))
            .flatten();
        Ok(RunPage {
            next_before,
            runs: runs.iter().map(RunView::of).collect(),
        })
    }
}
