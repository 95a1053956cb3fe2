//! Who is calling: the workspace, environment and scopes a valid key resolves to.

use crate::environment::Environment;
use crate::ids::{ApiKeyId, WorkspaceId};
use crate::scope::{Scope, Scopes};

/// An authenticated caller. Every store query a request makes is scoped by
/// `(workspace_id, environment)` taken from here, never from the request body.
#[derive(Clone, Debug)]
pub struct Principal {
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub environment: Environment,
    pub key_id: ApiKeyId,
    pub key_prefix: String,
    pub scopes: Scopes,
}

impl Principal {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.allows(scope)
    }
}
