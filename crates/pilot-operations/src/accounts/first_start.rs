//! First start: a store with no workspace at all gets a `default` one, with a live and
//! a test key, so that a new server answers its first request. `pilot serve` calls
//! this before it listens and prints the keys once.

use pilot_domain::WorkspaceName;

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::WorkspaceCreated;

/// The workspace an empty store starts with, and the one the CLI's `--workspace`
/// flags default to.
pub const DEFAULT_WORKSPACE: &str = "default";

impl Operations {
    /// Creates the default workspace when the store has none; `None` otherwise. Safe
    /// when several nodes start at once: the name is unique, and the losers of the race
    /// see it taken and carry on.
    #[tracing::instrument(name = "first_start", skip_all, fields(operator = %operator))]
    pub async fn first_start(
        &self,
        operator: &Operator,
    ) -> Result<Option<WorkspaceCreated>, OpError> {
        if !self.store().list_workspaces().await?.is_empty() {
            return Ok(None);
        }
        let name = WorkspaceName::parse(DEFAULT_WORKSPACE).expect("a valid workspace name");
        self.create_with_starter_keys(&name).await
    }
}
