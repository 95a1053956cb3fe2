//! Issuing an API key: the one place a key and its webhook signing secret exist in
//! clear, before they are shown once to whoever asked. The store keeps the key's
//! SHA-256 digest and its display prefix, and the secret sealed under the master key,
//! so neither can be shown again: a lost key is revoked and replaced.

use pilot_domain::{ApiKeyToken, Environment, MasterKey, Scopes, WebhookSecret, WorkspaceId};
use pilot_store::{ApiKeyRecord, NewApiKey};

use super::Operator;
use crate::error::OpError;
use crate::operations::Operations;
use crate::views::{IssuedKey, KeyView};

/// A key to issue, as the interface parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// Whose data the key reads and writes: `live` or `test`.
    pub environment: Environment,
    /// A label for people.
    pub name: String,
    /// What it may do (a write scope implies its read scope).
    pub scopes: Scopes,
}

impl NewKey {
    /// A key with every scope, as a new workspace gets one per environment.
    pub(crate) fn starter(environment: Environment) -> NewKey {
        NewKey {
            environment,
            name: format!("default {environment} key"),
            scopes: Scopes::all(),
        }
    }
}

/// A key made and not yet stored: what to store, and what to show once.
pub(crate) struct Minted {
    token: ApiKeyToken,
    webhook_secret: WebhookSecret,
    pub(crate) record: NewApiKey,
}

impl Minted {
    pub(crate) fn new(key: &NewKey, master_key: &MasterKey) -> Minted {
        let token = ApiKeyToken::generate(key.environment);
        let webhook_secret = WebhookSecret::generate();
        let record = NewApiKey {
            environment: key.environment,
            name: key.name.clone(),
            prefix: token.display_prefix(),
            digest: token.digest(),
            scopes: key.scopes.clone(),
            webhook_secret_sealed: master_key.seal(webhook_secret.expose()),
        };
        Minted {
            token,
            webhook_secret,
            record,
        }
    }

    /// The answer once the store holds the key as `stored`.
    pub(crate) fn issued(self, stored: &ApiKeyRecord, workspace: &str) -> IssuedKey {
        IssuedKey {
            key: KeyView::of(stored),
            token: self.token,
            webhook_secret: self.webhook_secret,
            workspace: workspace.to_owned(),
        }
    }
}

impl Operations {
    /// Issues a key in `workspace`; the answer holds the key and its webhook secret in
    /// clear, for the only time.
    #[tracing::instrument(
        name = "issue_key",
        skip_all,
        fields(operator = %operator, workspace = %workspace, environment = %key.environment)
    )]
    pub async fn issue_key(
        &self,
        operator: &Operator,
        workspace: &str,
        key: NewKey,
    ) -> Result<IssuedKey, OpError> {
        let workspace = self.operated_workspace(workspace).await?;
        self.issue_key_in(workspace.id, &workspace.name, key).await
    }

    /// Issuing a key in a workspace already found: the operator's use case and an
    /// owner's in the dashboard, once.
    pub(crate) async fn issue_key_in(
        &self,
        workspace_id: WorkspaceId,
        workspace_name: &str,
        key: NewKey,
    ) -> Result<IssuedKey, OpError> {
        if key.scopes.iter().next().is_none() {
            return Err(OpError::validation("a key needs at least one scope"));
        }
        let minted = Minted::new(&key, self.master_key());
        let stored = self
            .store()
            .create_api_key(workspace_id, &minted.record, self.now())
            .await?;
        tracing::info!(key = stored.id.0, prefix = %stored.prefix, "key issued");
        Ok(minted.issued(&stored, workspace_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_only_digest_prefix_and_sealed_secret() {
        let (master, _) = MasterKey::generate();
        let key = NewKey {
            environment: Environment::Test,
            name: "ci".into(),
            scopes: Scopes::all(),
        };
        let minted = Minted::new(&key, &master);
        assert_eq!(minted.record.digest, minted.token.digest());
        assert!(minted.token.expose().starts_with(&minted.record.prefix));
        assert!(
            !minted
                .record
                .webhook_secret_sealed
                .contains(minted.webhook_secret.expose())
        );
        assert_eq!(
            master.open(&minted.record.webhook_secret_sealed).unwrap(),
            minted.webhook_secret.expose()
        );
    }

    #[test]
    fn starter_keys_are_named_for_their_environment_and_hold_every_scope() {
        let live = NewKey::starter(Environment::Live);
        assert_eq!(live.name, "default live key");
        assert_eq!(live.scopes, Scopes::all());
        assert_eq!(NewKey::starter(Environment::Test).name, "default test key");
    }
}
