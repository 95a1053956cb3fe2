//! The embedded store: one SQLite file in WAL mode.
//!
//! Writers serialize on SQLite's lock; `busy_timeout` makes them wait rather than
//! fail. The claim runs in a `BEGIN IMMEDIATE` transaction so that two workers never
//! read the same due rows before one of them takes the write lock.

mod jobs;
mod keys;
mod workspaces;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::Notify;

use crate::error::StoreResult;
use crate::records::Backend;
use crate::{Store, StoreOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    job_notify: Arc<Notify>,
}

impl SqliteStore {
    pub async fn open(path: &Path, options: &StoreOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_millis(options.busy_timeout_ms));
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await?;
        Ok(SqliteStore {
            pool,
            job_notify: Arc::new(Notify::new()),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn job_notify(&self) -> Arc<Notify> {
        self.job_notify.clone()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
