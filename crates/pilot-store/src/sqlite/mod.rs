//! The embedded store: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time. Within a process, every write goes through a
//! pool of one connection (`writer`), so writers queue in memory instead of meeting
//! SQLite's lock and backing off by sleeping; reads use a pool of several. Between
//! processes sharing the file (`pilot serve` beside `pilot worker`), `busy_timeout`
//! makes a writer wait for the lock rather than fail. The claim runs in a
//! `BEGIN IMMEDIATE` transaction so no two claimers read the same due rows.

mod claim;
mod credits;
mod deliberations;
mod idempotency;
mod jobs;
mod keys;
mod pilots;
mod rate_limits;
mod runs;
mod secrets;
mod usage;
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
    /// Reads.
    pool: SqlitePool,
    /// Writes: one connection.
    writer: SqlitePool,
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
        // The writer connects first, so it creates the file and sets WAL mode.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .connect_with(connect)
            .await?;
        Ok(SqliteStore {
            pool,
            writer,
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
        MIGRATOR.run(&self.writer).await?;
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
        self.writer.close().await;
    }
}
