//! First start: an empty store gets a `default` workspace with a live and a test key.

use pilot_domain::{MasterKey, UnixMillis, WorkspaceName};
use pilot_store::{Store, StoreError};

use crate::keys::{IssuedKey, starter_pair};

pub const DEFAULT_WORKSPACE: &str = "default";

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
        Ok(_) => Ok(Some(FirstStart { live, test })),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(error) => Err(error),
    }
}
