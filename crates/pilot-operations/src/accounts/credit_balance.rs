//! A workspace environment's balance, for an operator (a key reads its own through
//! the Deliberations surface's `GET /v1/api/balance`).

use pilot_domain::Environment;

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::BalanceView;

impl Operations {
    /// The credits `workspace` holds in `environment` (zero before any grant).
    #[tracing::instrument(
        name = "credit_balance",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %environment)
    )]
    pub async fn credit_balance(
        &self,
        operator: &Operator,
        workspace: &str,
        environment: Environment,
    ) -> Result<BalanceView, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        let balance = self.store().balance(workspace.id, environment).await?;
        Ok(BalanceView {
            balance,
            environment: environment.as_str().to_owned(),
        })
    }
}
