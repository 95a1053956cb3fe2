//! Accounts. A key's side: who it is ([`authenticate`](crate::Operations::authenticate))
//! and what it may see of itself (`me`). The operator's side, over an
//! [`Operator`] rather than a key's `Principal`: workspaces with their starter keys
//! and credits, keys (issue, list, revoke), credits (grant, balance, ledger), and
//! the first start's default workspace. One file per use case.

mod authenticate;
mod create_workspace;
mod credit_balance;
mod credit_ledger;
mod first_start;
mod grant_credits;
mod issue_key;
mod list_keys;
mod list_workspaces;
mod me;
mod operator;
mod revoke_key;

pub(crate) use authenticate::principal;
pub use authenticate::{MALFORMED, MISSING, REVOKED, UNKNOWN};
pub use create_workspace::STARTER_TEST_CREDITS;
pub use first_start::DEFAULT_WORKSPACE;
pub use issue_key::NewKey;
pub use operator::Operator;

use pilot_store::WorkspaceRecord;

use crate::error::OpError;
use crate::operations::Operations;

/// What an operator's use case answers when no workspace is named `name` (an
/// interface may compare an error with it, to suggest where to look).
pub fn unknown_workspace(name: &str) -> OpError {
    OpError::not_found(format!("no workspace named {name:?}"))
}

impl Operations {
    /// The workspace named `name`, which an operator's use case acts on.
    pub(crate) async fn operated_workspace(&self, name: &str) -> Result<WorkspaceRecord, OpError> {
        self.store()
            .find_workspace(name)
            .await?
            .ok_or_else(|| unknown_workspace(name))
    }
}
