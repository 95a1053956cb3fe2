//! `GET /v1/api/balance`: the caller's environment's credit balance (live and test
//! keep their own).

use pilot_domain::{Principal, Scope};

use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::BalanceView;

impl Operations {
    #[tracing::instrument(
        name = "balance",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn balance(&self, who: &Principal) -> Result<BalanceView, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        let balance = self
            .store()
            .balance(who.workspace_id, who.environment)
            .await?;
        Ok(BalanceView {
            balance,
            environment: who.environment.as_str().to_owned(),
        })
    }
}
