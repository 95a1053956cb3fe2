//! A pilot's webhook trigger token: the secret part of its inbound URL
//! (`/hooks/pilots/wh_…`). Whoever holds the URL may fire the pilot, so the token is
//! a credential like an API key: generated here, sealed at rest for showing to the
//! pilot's owners, looked up by its SHA-256 digest, and never shown by `Debug`.

use std::fmt;

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

const PREFIX: &str = "wh_";
/// Random base62 characters after the prefix (about 190 bits).
const SECRET_LEN: usize = 32;
/// Longest token text looked up at all: anything longer is no token.
pub const MAX_TOKEN_CHARS: usize = 128;

#[derive(Clone, PartialEq, Eq)]
pub struct WebhookToken(String);

impl WebhookToken {
    pub fn generate() -> WebhookToken {
        let secret: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SECRET_LEN)
            .map(char::from)
            .collect();
        WebhookToken(format!("{PREFIX}{secret}"))
    }

    /// A token as it arrived in a URL, if it could be one. Tokens issued before
    /// this type existed had the same shape; a bound on length is all that is
    /// checked, since the digest lookup decides.
    pub fn parse(raw: &str) -> Option<WebhookToken> {
        (!raw.is_empty() && raw.len() <= MAX_TOKEN_CHARS).then(|| WebhookToken(raw.to_owned()))
    }

    /// The lowercase hex SHA-256 digest the store looks pilots up by.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The token in full, to seal it or to put it in its owner's URL.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookToken(wh_…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_digestible_and_never_debugged() {
        let token = WebhookToken::generate();
        assert!(token.expose().starts_with("wh_"));
        assert_eq!(token.expose().len(), 3 + SECRET_LEN);
        assert_ne!(token, WebhookToken::generate());
        assert_eq!(token.digest().len(), 64);
        assert!(!format!("{token:?}").contains(&token.expose()[3..]));
        assert_eq!(
            WebhookToken::parse(token.expose()).map(|t| t.digest()),
            Some(token.digest())
        );
        assert!(WebhookToken::parse("").is_none());
        assert!(WebhookToken::parse(&"x".repeat(MAX_TOKEN_CHARS + 1)).is_none());
    }
}
