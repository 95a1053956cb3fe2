//! A workspace environment's credit ledger, for an operator: every grant,
//! reservation, charge adjustment and refund, newest first, each with the balance it
//! left.

use pilot_domain::Environment;

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
        let entries = self
            .store()
            .ledger(workspace.id, environment, limit)
            .await?;
        Ok(LedgerView {
            entries: entries.iter().map(LedgerEntryView::of).collect(),
            environment: environment.as_str().to_owned(),
            workspace: workspace.name,
        })
    }
}
