//! API keys and webhook signing secrets: generated here, shown once, stored as digests.
//!
//! A key reads `pk_live_` or `pk_test_` followed by 40 base62 characters (about 238
//! bits of entropy). The store keeps only its SHA-256 digest and a short display
//! prefix, so a leaked database yields no usable key.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::environment::Environment;

const SECRET_LEN: usize = 40;
/// How much of a key is kept in clear for people to recognise it: `pk_live_` plus 4.
const DISPLAY_SECRET_CHARS: usize = 4;

/// A full API key as the client sends it. Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyToken {
    token: String,
    environment: Environment,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFormatError {
    #[error("API key must start with pk_live_ or pk_test_")]
    Prefix,
    #[error("API key has the wrong length or characters")]
    Body,
}

impl ApiKeyToken {
    /// A fresh random key for `environment`.
    pub fn generate(environment: Environment) -> Self {
        let secret: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SECRET_LEN)
            .map(char::from)
            .collect();
        ApiKeyToken {
            token: format!("{}{}", prefix_for(environment), secret),
            environment,
        }
    }

    /// Checks a presented key's shape (no store lookup).
    pub fn parse(raw: &str) -> Result<Self, KeyFormatError> {
        let (environment, secret) = if let Some(rest) = raw.strip_prefix("pk_live_") {
            (Environment::Live, rest)
        } else if let Some(rest) = raw.strip_prefix("pk_test_") {
            (Environment::Test, rest)
        } else {
            return Err(KeyFormatError::Prefix);
        };
        if secret.len() != SECRET_LEN || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyFormatError::Body);
        }
        Ok(ApiKeyToken {
            token: raw.to_owned(),
            environment,
        })
    }

    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The lowercase hex SHA-256 digest the store indexes keys by.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.token.as_bytes()))
    }

    /// The part of the key safe to show in listings, e.g. `pk_live_Ab3x`.
    pub fn display_prefix(&self) -> String {
        self.token[..prefix_for(self.environment).len() + DISPLAY_SECRET_CHARS].to_owned()
    }

    /// The key in full, for the one time it is shown to its owner.
    pub fn expose(&self) -> &str {
        &self.token
    }
}

impl std::fmt::Debug for ApiKeyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeyToken({}…)", self.display_prefix())
    }
}

fn prefix_for(environment: Environment) -> &'static str {
    match environment {
        Environment::Live => "pk_live_",
        Environment::Test => "pk_test_",
    }
}

/// A key's webhook signing secret: `whsec_` and 32 random bytes in base64, the form the
/// Standard Webhooks libraries accept. Stored encrypted under the master key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        use base64::Engine;
        let bytes: [u8; 32] = rand::rng().random();
        WebhookSecret(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    pub fn from_plaintext(secret: String) -> Self {
        WebhookSecret(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_with_their_environment() {
        for env in Environment::ALL {
            let key = ApiKeyToken::generate(env);
            let parsed = ApiKeyToken::parse(key.expose()).unwrap();
            assert_eq!(parsed.environment(), env);
            assert_eq!(parsed.digest(), key.digest());
            assert_eq!(key.display_prefix().len(), 12);
            assert!(key.expose().starts_with(&key.display_prefix()));
        }
    }

    #[test]
    fn two_keys_differ() {
        let a = ApiKeyToken::generate(Environment::Live);
        let b = ApiKeyToken::generate(Environment::Live);
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(ApiKeyToken::parse("bp_abc"), Err(KeyFormatError::Prefix));
        assert_eq!(
            ApiKeyToken::parse("pk_live_short"),
            Err(KeyFormatError::Body)
        );
        let bad_char = format!("pk_test_{}!", "a".repeat(39));
        assert_eq!(ApiKeyToken::parse(&bad_char), Err(KeyFormatError::Body));
    }

    #[test]
    fn digest_is_sha256_hex() {
        let key = ApiKeyToken::parse(&format!("pk_live_{}", "a".repeat(40))).unwrap();
        assert_eq!(key.digest().len(), 64);
        assert_eq!(
            key.digest(),
            hex::encode(Sha256::digest(format!("pk_live_{}", "a".repeat(40))))
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let key = ApiKeyToken::generate(Environment::Test);
        assert!(!format!("{key:?}").contains(key.expose()));
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }
}
