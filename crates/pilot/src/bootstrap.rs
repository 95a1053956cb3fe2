//! First start: an empty store gets a `default` workspace with a live and a test key.

use pilot_domain::{Credits, Environment, MasterKey, UnixMillis, WorkspaceId, WorkspaceName};
use pilot_store::{Store, StoreError};

use crate::keys::{IssuedKey, starter_pair};

pub const DEFAULT_WORKSPACE: &str = "default";

/// Credits a new workspace's `test` environment starts with, so test mode (the
/// scripted model) works from the first call. Live credits start at zero: an operator
/// grants them (`pilot credits grant`).
pub const STARTER_TEST_CREDITS: Credits = Credits::from_credits(100);

/// Grants the starter test credits to a new workspace.
pub async fn grant_starter_credits(
    store: &dyn Store,
    workspace_id: WorkspaceId,
    now: UnixMillis,
) -> Result<(), StoreError> {
    store
        .grant_credits(
            workspace_id,
            Environment::Test,
            STARTER_TEST_CREDITS,
            "starter test credits",
            now,
        )
        .await
        .map(|_| ())
}

/// The keys made on first start, to print once.
pub struct FirstStart {
    pub live: IssuedKey,
    pub test: IssuedKey,
}

/// Creates the default workspace when the store has no workspace at all. Safe when
/// several nodes start at once: the workspace name is unique, and the losers of the
/// race see a conflict and carry on.
pub async fn ensure_default_workspace(
    store: &dyn Store,
    master_key: &MasterKey,
    now: UnixMillis,
) -> Result<Option<FirstStart>, StoreError> {
    if !store.list_workspaces().await?.is_empty() {
        return Ok(None);
    }
    let name = WorkspaceName::parse(DEFAULT_WORKSPACE).expect("valid name");
    let [live, test] = starter_pair(master_key);
    match store
        .create_workspace(&name, &[live.record.clone(), test.record.clone()], now)
        .await
    {
        Ok((workspace, _)) => {
            grant_starter_credits(store, workspace.id, now).await?;
            Ok(Some(FirstStart { live, test }))
        }
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(error) => Err(error),
    }
}
