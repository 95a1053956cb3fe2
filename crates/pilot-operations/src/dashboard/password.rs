//! Passwords: Argon2id with the `argon2` crate's default parameters, kept as PHC
//! strings; hashed and verified off the async threads.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::OpError;

/// A hash no password matches in practice, verified for unknown emails so they take
/// as long as known ones.
static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash_now("pilot: no such user, no such password"));

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashes any password with default parameters")
        .to_string()
}

/// The PHC string of `password`.
pub(super) async fn hash(password: &str) -> Result<String, OpError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|_| OpError::internal())
}

/// Whether `password` matches `phc`; with `None`, verifies against a dummy hash and
/// answers `false`, in about the same time.
pub(super) async fn verify(password: &str, phc: Option<String>) -> Result<bool, OpError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match phc {
            Some(phc) => (phc, true),
            None => (DUMMY.clone(), false),
        };
        let matches = PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        matches && real
    })
    .await
    .map_err(|_| OpError::internal())
}
