//! The multi-node store: PostgreSQL shared by any number of API and worker processes.
//!
//! Claims lock rows with `FOR UPDATE SKIP LOCKED`, so concurrent workers on any node
//! take disjoint jobs without waiting on each other; fair claims, which count each
//! workspace's running jobs, take turns on an advisory lock instead (`claim.rs`). A
//! listener task forwards `NOTIFY pilot_jobs` (sent by a trigger on every insert into
//! `jobs`) to the local [`Notify`], so idle workers everywhere wake when work arrives.
//!
//! A run's progress writes (its status and each step's result) go through a second
//! pool whose sessions commit asynchronously (`synchronous_commit = off`): they do
//! not wait for the WAL flush. That is safe because every such write is followed,
//! in WAL order, by a synchronous commit of the same worker (the job's settlement),
//! whose flush makes the earlier records durable too; a crash before it loses at
//! most progress the at-least-once run would redo anyway — a terminal write's run
//! event included (its delivery and job ride in that write, `progress.rs`), which the
//! redone run writes again. Everything a client was told is accepted (runs, jobs,
//! keys, secrets) commits synchronously.

mod claim;
mod credits;
mod dashboard;
mod deliberations;
mod idempotency;
mod jobs;
mod keys;
mod pilots;
mod processes;
mod progress;
mod rate_limits;
mod requeue;
mod runs;
mod secrets;
mod usage;
mod users;
mod webhook_events;
mod webhooks;
mod workspaces;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::StoreResult;
use crate::records::Backend;
use crate::{Store, StoreOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const JOBS_CHANNEL: &str = "pilot_jobs";

pub struct PostgresStore {
    pool: PgPool,
    /// Sessions with `synchronous_commit = off`, for run progress only.
    progress: PgPool,
    job_notify: Arc<Notify>,
    listener: JoinHandle<()>,
}

impl PostgresStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .connect(url)
            .await?;
        let progress = PgPoolOptions::new()
            .max_connections((options.max_connections / 2).max(2))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::query("SET synchronous_commit = off")
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
            .connect(url)
            .await?;
        let job_notify = Arc::new(Notify::new());
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(JOBS_CHANNEL).await?;
        let listener = tokio::spawn(forward_notifications(listener, job_notify.clone()));
        Ok(PostgresStore {
            pool,
            progress,
            job_notify,
            listener,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Turns each `NOTIFY pilot_jobs` into a local wake-up. `PgListener` reconnects by
/// itself; while it is down, workers still find work by polling.
async fn forward_notifications(mut listener: PgListener, notify: Arc<Notify>) {
    loop {
        match listener.recv().await {
            Ok(_) => notify.notify_waiters(),
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "job notification listener lost its connection; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
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
        self.listener.abort();
        self.pool.close().await;
        self.progress.close().await;
    }
}
