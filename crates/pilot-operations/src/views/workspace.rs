//! Workspaces as operators see them: the tenants, and a new one with its starter keys.
//!
//! Operator views carry instants as Unix milliseconds (the store's own unit): they
//! belong to no API surface's conventions, and the CLI and the dashboard format them
//! for people.

use pilot_domain::UnixMillis;
use pilot_store::WorkspaceRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::key::IssuedKey;

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WorkspaceView {
    /// Unix milliseconds.
    #[schema(value_type = i64)]
    pub created_at: UnixMillis,
    pub id: i64,
    pub name: String,
}

impl WorkspaceView {
    pub fn of(workspace: &WorkspaceRecord) -> WorkspaceView {
        WorkspaceView {
            created_at: workspace.created_at,
            id: workspace.id.0,
            name: workspace.name.clone(),
        }
    }
}

/// Every workspace, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WorkspaceList {
    pub workspaces: Vec<WorkspaceView>,
}

/// A workspace just created, with the live and the test key it starts with (each
/// holding every scope). The keys and their webhook secrets are in clear here and
/// nowhere else: show them once.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WorkspaceCreated {
    pub live: IssuedKey,
    pub test: IssuedKey,
    pub workspace: WorkspaceView,
}
