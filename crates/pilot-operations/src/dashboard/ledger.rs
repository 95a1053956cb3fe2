//! The key's own tenant's credit ledger, newest first, by page: what the operator's
//! `credit_ledger` shows, through the same body.

use pilot_domain::{Principal, Scope};

use super::page_limit;
use crate::authorize;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::LedgerPage;

impl Operations {
    /// `before` an entry id, `limit` 1 to 100, 50 unless given (`deliberations:read`,
    /// as the balance).
    #[tracing::instrument(
        name = "tenant_credit_ledger",
        skip_all,
        fields(workspace = who.workspace_id.0, environment = who.environment.as_str())
    )]
    pub async fn tenant_credit_ledger(
        &self,
        who: &Principal,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<LedgerPage, OpError> {
        authorize::require(who, Scope::DeliberationsRead)?;
        let limit = page_limit(limit)?;
        let (entries, next_before) = self
            .ledger_entries(who.workspace_id, who.environment, before, limit)
            .await?;
        Ok(LedgerPage {
            entries,
            environment: who.environment.as_str().to_owned(),
            next_before,
            workspace: who.workspace_name.clone(),
        })
    }
}
