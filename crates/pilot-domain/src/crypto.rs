//! Sealing secrets at rest under the server's master key (AES-256-GCM).
//!
//! A sealed value is `v1:` + base64(nonce ‖ ciphertext ‖ tag) with a fresh 96-bit
//! random nonce each time, so it can live in a TEXT column on either store. The
//! version tag leaves room for key rotation.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng;

const VERSION: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The 32-byte key every secret in the store is sealed with.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open under this master key")]
    WrongKey,
}

impl MasterKey {
    pub fn generate() -> (Self, String) {
        let bytes: [u8; 32] = rand::rng().random();
        let encoded = B64.encode(bytes);
        (Self::from_bytes(&bytes), encoded)
    }

    /// Reads a base64-encoded 32-byte key (surrounding whitespace ignored).
    pub fn from_base64(encoded: &str) -> Result<Self, CryptoError> {
        let bytes = B64
            .decode(encoded.trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadMasterKey);
        }
        Ok(Self::from_bytes(&bytes))
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        MasterKey {
            cipher: Aes256Gcm::new_from_slice(bytes).expect("32-byte key"),
        }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::rng().random();
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        format!("{VERSION}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, CryptoError> {
        let body = sealed.strip_prefix(VERSION).ok_or(CryptoError::Malformed)?;
        let raw = B64.decode(body).map_err(|_| CryptoError::Malformed)?;
        if raw.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| CryptoError::WrongKey)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::Malformed)
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let (key, encoded) = MasterKey::generate();
        let sealed = key.seal("whsec_abc");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(key.open(&sealed).unwrap(), "whsec_abc");
        let same = MasterKey::from_base64(&encoded).unwrap();
        assert_eq!(same.open(&sealed).unwrap(), "whsec_abc");
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let (key, _) = MasterKey::generate();
        assert_ne!(key.seal("x"), key.seal("x"));
    }

    #[test]
    fn refuses_the_wrong_key_and_tampering() {
        let (a, _) = MasterKey::generate();
        let (b, _) = MasterKey::generate();
        let sealed = a.seal("secret");
        assert_eq!(b.open(&sealed), Err(CryptoError::WrongKey));
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(a.open(std::str::from_utf8(&tampered).unwrap()).is_err());
        assert_eq!(a.open("plain"), Err(CryptoError::Malformed));
        assert_eq!(
            MasterKey::from_base64("c2hvcnQ=").err(),
            Some(CryptoError::BadMasterKey)
        );
    }
}
