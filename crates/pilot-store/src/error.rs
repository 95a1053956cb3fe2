//! The storage layer's one error type.

/// What can go wrong in storage. `Conflict` and `NotFound` are expected outcomes the
/// layers above map to client errors; the rest are faults (a 500 with no details).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database URL must start with sqlite:// or postgres:// (got {0:?}…)")]
    BadUrl(String),
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && db.is_unique_violation()
        {
            return StoreError::Conflict(db.message().to_owned());
        }
        StoreError::Database(error)
    }
}
