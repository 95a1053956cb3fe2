//! Dashboard accounts: people who sign in with an email and a password, as opposed
//! to API keys. Their emails and passwords are checked here, at the edge; their
//! session and link tokens are made here, shown once, and stored only as digests.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// What a person may do in a workspace's dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages the workspace's keys and members, and everything a member does.
    Owner,
    /// Uses the workspace's pilots and deliberations.
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "owner" => Some(Role::Owner),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address as accounts are keyed by: trimmed, lowercased, 3–254
/// characters, exactly one `@` with something on each side, no spaces or control
/// characters. Deliverability is not checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let email = raw.trim().to_lowercase();
        let chars = email.chars().count();
        if !(3..=254).contains(&chars) {
            return Err("an email address has 3 to 254 characters".into());
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("an email address has no spaces or control characters".into());
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Email(email))
            }
            _ => Err("an email address has one @ with text on each side".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shortest password accepted, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// The longest password accepted, in characters.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// The password policy: 10 to 256 characters. The error says so.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(format!(
            "a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters (this one has {chars})"
        ))
    }
}

/// A session cookie, a single-use setup or reset link's token, or a CSRF token: 32
/// random bytes in unpadded base64url. Shown once; the store keeps its SHA-256
/// digest. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct UserToken(String);

/// Longest token text looked up at all.
const MAX_USER_TOKEN_CHARS: usize = 128;

impl UserToken {
    pub fn generate() -> UserToken {
        let bytes: [u8; 32] = rand::rng().random();
        UserToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as presented (a cookie, a link's query), if it could be one; the
    /// digest lookup decides.
    pub fn parse(raw: &str) -> Option<UserToken> {
        (!raw.is_empty() && raw.len() <= MAX_USER_TOKEN_CHARS).then(|| UserToken(raw.to_owned()))
    }

    /// The lowercase hex SHA-256 digest the store keeps.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The token in full, for the one time it is shown.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in ["", "a@", "@b", "ab", "a@b@c", "a b@c", "a\u{7}@b", "nobody"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} refused");
        }
        let long = format!("{}@b.c", "a".repeat(251));
        assert!(Email::parse(&long).is_err());
        assert!(Email::parse(&format!("{}@b.c", "a".repeat(250))).is_ok());
    }

    #[test]
    fn passwords_have_ten_to_256_characters() {
        assert!(
            check_password("123456789")
                .unwrap_err()
                .contains("10 to 256")
        );
        assert!(check_password("1234567890").is_ok());
        assert!(check_password(&"x".repeat(256)).is_ok());
        assert!(check_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn tokens_are_32_bytes_base64url_digested_and_never_debugged() {
        let token = UserToken::generate();
        assert_eq!(token.expose().len(), 43);
        assert!(
            token
                .expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(token, UserToken::generate());
        assert_eq!(token.digest().len(), 64);
        assert_eq!(
            UserToken::parse(token.expose()).unwrap().digest(),
            token.digest()
        );
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn roles_read_back() {
        for role in [Role::Owner, Role::Member] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
