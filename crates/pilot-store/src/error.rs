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
    Migrate(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// The store was closed, or a thread that serves it stopped.
    #[error("database unavailable: {0}")]
    Unavailable(String),
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

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(error.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(failure, message) = &error
            && matches!(
                failure.extended_code,
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
        {
            return StoreError::Conflict(message.clone().unwrap_or_else(|| failure.to_string()));
        }
        StoreError::Sqlite(error)
    }
}
