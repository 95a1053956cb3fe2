//! `GET /v1/api/deliberations/{id}` and `…/result` (§4): the status-only shape while
//! queued or running, the full payload once terminal (a transport tells them apart
//! by [`DeliberationView::is_terminal`]: `202` and `200` on REST). `?include=panel`
//! adds every persona answer, review and the arbiter's work; any other `include` is
//! a validation error rather than silently nothing. Counted against the key's read
//! limit.

use pilot_domain::{Principal, Scope};
use serde::Deserialize;
use utoipa::IntoParams;

use super::limits::Budget;
use crate::answer::Answer;
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{DeliberationView, PanelEntryView};

/// `?include=`, as the client wrote it.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliberationQuery {
    /// A comma-separated list of what to add: `panel` (every persona answer, review
    /// and the arbiter's work).
    pub include: Option<String>,
}

impl Operations {
    #[tracing::instrument(
        name = "get_deliberation",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn get_deliberation(
        &self,
        who: &Principal,
        id: &str,
        query: &DeliberationQuery,
    ) -> Answer<DeliberationView> {
        if let Err(refused) = authorize::require(who, Scope::DeliberationsRead) {
            return Answer::err(refused);
        }
        self.counted(who, Budget::Reads, self.read_deliberation(who, id, query))
            .await
    }

    async fn read_deliberation(
        &self,
        who: &Principal,
        id: &str,
        query: &DeliberationQuery,
    ) -> Result<DeliberationView, OpError> {
        let record = self.find_deliberation(who, id).await?;
        let panel = if wants_panel(query.include.as_deref())? {
            let entries = self.store().panel_entries(&record.id).await?;
            Some(entries.iter().map(PanelEntryView::of).collect())
        } else {
            None
        };
        self.with_checkpoint(&record, DeliberationView::of(&record, panel))
            .await
    }
}

/// `?include=`: a comma-separated list of what to add, of which there is one
/// (`panel`).
fn wants_panel(include: Option<&str>) -> Result<bool, OpError> {
    let mut panel = false;
    for part in include
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        match part {
            "panel" => panel = true,
            _ => return Err(OpError::validation("include may only list: panel")),
        }
    }
    Ok(panel)
}
