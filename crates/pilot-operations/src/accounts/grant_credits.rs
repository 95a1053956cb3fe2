//! Granting credits: the operator's way to add to a workspace environment's balance
//! (deliberations reserve from it at submit and settle on completion). The grant and
//! its `grant` ledger entry are one transaction, so the append-only ledger always
//! sums to the balance.

use pilot_domain::{Credits, Environment};

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::CreditsGranted;

impl Operations {
    /// Adds `amount` (positive) to `workspace`'s `environment` balance, with `note` in
    /// the ledger.
    #[tracing::instrument(
        name = "grant_credits",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment, %amount)
    )]
    pub async fn grant_credits(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
        amount: Credits,
        note: &str,
    ) -> Result<CreditsGranted, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        if amount <= Credits::ZERO {
            return Err(OpError::validation(
                "the amount must be a positive number of credits",
            ));
        }
        let balance = self
            .store()
            .grant_credits(workspace.id, environment, amount, note, self.now())
            .await?;
        Ok(CreditsGranted {
            amount,
            balance,
            environment: environment.as_str().to_owned(),
            workspace: workspace.name,
        })
    }
}
