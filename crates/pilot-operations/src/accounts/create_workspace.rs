//! Creating a workspace: a tenant with a live and a test key holding every scope, and
//! starter credits in its `test` environment so that test mode (the scripted model)
//! works from the first call. Live credits start at zero: an operator grants them
//! ([`Operations::grant_credits`]).

use pilot_domain::{Credits, Environment, WorkspaceName};
use pilot_store::StoreError;

use super::Operator;
use super::issue_key::{Minted, NewKey};
use crate::error::{ErrorCode, OpError};
use crate::operations::Operations;
use crate::views::{WorkspaceCreated, WorkspaceView};

/// Credits a new workspace's `test` environment starts with.
pub const STARTER_TEST_CREDITS: Credits = Credits::from_credits(100);

impl Operations {
    /// Creates the workspace `name` with its starter keys (shown once, in the answer)
    /// and credits. `Conflict` when the name is taken.
    #[tracing::instrument(
        name = "create_workspace",
        skip_all,
        fields(operator = %operator, workspace = %name)
    )]
    pub async fn create_workspace(
        &self,
        operator: &Operator,
        name: &WorkspaceName,
    ) -> Result<WorkspaceCreated, OpError> {
        self.create_with_starter_keys(name).await?.ok_or_else(|| {
            OpError::conflict(
                ErrorCode::Conflict,
                format!("a workspace named {name} already exists"),
            )
        })
    }

    /// The workspace, its two keys and its starter credits; `None` when the name is
    /// taken. The workspace and its keys are one transaction; the credits follow.
    pub(crate) async fn create_with_starter_keys(
        &self,
        name: &WorkspaceName,
    ) -> Result<Option<WorkspaceCreated>, OpError> {
        let live = Minted::new(&NewKey::starter(Environment::Live), self.master_key());
        let test = Minted::new(&NewKey::starter(Environment::Test), self.master_key());
        let now = self.now();
        let records = [live.record.clone(), test.record.clone()];
        let (workspace, stored) = match self.store().create_workspace(name, &records, now).await {
            Ok(created) => created,
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        self.store()
            .grant_credits(
                workspace.id,
                Environment::Test,
                STARTER_TEST_CREDITS,
                "starter test credits",
                now,
            )
            .await?;
        let stored_in = |environment: Environment| {
            stored
                .iter()
                .find(|key| key.environment == environment)
                .ok_or_else(|| {
                    tracing::error!(%environment, "the store did not return a starter key");
                    OpError::internal()
                })
        };
        let (live_key, test_key) = (stored_in(Environment::Live)?, stored_in(Environment::Test)?);
        tracing::info!(workspace = workspace.id.0, "workspace created");
        Ok(Some(WorkspaceCreated {
            live: live.issued(live_key, &workspace.name),
            test: test.issued(test_key, &workspace.name),
            workspace: WorkspaceView::of(&workspace),
        }))
    }
}
