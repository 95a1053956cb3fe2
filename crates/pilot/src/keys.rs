//! Issuing API keys: the one place a key and its webhook secret exist in clear, before
//! they are shown once to their owner.

use pilot_domain::{ApiKeyToken, Environment, MasterKey, Scopes, WebhookSecret};
use pilot_store::NewApiKey;

/// A freshly made key: what to store, and what to show once.
pub struct IssuedKey {
    pub token: ApiKeyToken,
    pub webhook_secret: WebhookSecret,
    pub record: NewApiKey,
}

pub fn issue(
    environment: Environment,
    name: &str,
    scopes: Scopes,
    master_key: &MasterKey,
) -> IssuedKey {
    let token = ApiKeyToken::generate(environment);
    let webhook_secret = WebhookSecret::generate();
    let record = NewApiKey {
        environment,
        name: name.to_owned(),
        prefix: token.display_prefix(),
        digest: token.digest(),
        scopes,
        webhook_secret_sealed: master_key.seal(webhook_secret.expose()),
    };
    IssuedKey {
        token,
        webhook_secret,
        record,
    }
}

/// A live and a test key with every scope, as a new workspace gets.
pub fn starter_pair(master_key: &MasterKey) -> [IssuedKey; 2] {
    [
        issue(
            Environment::Live,
            "default live key",
            Scopes::all(),
            master_key,
        ),
        issue(
            Environment::Test,
            "default test key",
            Scopes::all(),
            master_key,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_only_digest_prefix_and_sealed_secret() {
        let (master, _) = MasterKey::generate();
        let issued = issue(Environment::Test, "ci", Scopes::all(), &master);
        assert_eq!(issued.record.digest, issued.token.digest());
        assert!(issued.token.expose().starts_with(&issued.record.prefix));
        assert!(
            !issued
                .record
                .webhook_secret_sealed
                .contains(issued.webhook_secret.expose())
        );
        assert_eq!(
            master.open(&issued.record.webhook_secret_sealed).unwrap(),
            issued.webhook_secret.expose()
        );
    }
}
