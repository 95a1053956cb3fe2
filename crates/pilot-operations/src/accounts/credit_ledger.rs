//! A workspace environment's credit ledger, for an operator: every grant,
//! reservation, charge adjustment and refund, newest first, each with the balance it
//! left.

use pilot_domain::{Environment, WorkspaceId};

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{LedgerEntryView, LedgerView};

impl Operations {
    /// The newest `limit` (at least 1) ledger entries of `workspace`'s `environment`.
    #[tracing::instrument(
        name = "credit_ledger",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment, limit = limit)
    )]
    pub async fn credit_ledger(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        limit: u32,
    ) -> Result<LedgerView, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        if limit == 0 {
            return Err(OpError::validation("limit must be at least 1"));
        }
        let (entries, _) = self
            .ledger_entries(workspace.id, environment, None, limit)
            .await?;
        Ok(LedgerView {
            entries,
            environment: environment.as_str().to_owned(),
            workspace: workspace.name,
        })
    }

    /// The body an operator's and a key's ledger share: a tenant's newest `limit`
    /// entries older than the entry id `before`, and the cursor of the next page
    /// when this one is full.
    pub(crate) async fn ledger_entries(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        before: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<LedgerEntryView>, Option<i64>), OpError> {
        let entries = self
            .store()
            .ledger_page(workspace_id, environment, before, limit)
            .await?;
        let next_before = (entries.len() as u64 == u64::from(limit))
            .then(|| entries.last().map(|e| e.id))
            .flatten();
        Ok((
            entries.iter().map(LedgerEntryView::of).collect(),
            next_before,
        ))
    }
}
