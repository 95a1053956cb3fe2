//! The multi-node store: PostgreSQL shared by any number of API and worker processes.
//!
//! Claims lock rows with `FOR UPDATE SKIP LOCKED`, so concurrent workers on any node
//! take disjoint jobs without waiting on each other; fair claims lock workspaces'
//! lanes the same way (`claim.rs`). Idle workers everywhere wake when work arrives
//! through `NOTIFY pilot_jobs`, sent after commits, never inside them (`wakeups.rs`).
//!
//! A run's progress writes (its status and each step's result) go through a second
//! pool whose sessions commit asynchronously (`synchronous_commit = off`): they do
//! not wait for the WAL flush. That is safe because the run's job is still in the
//! queue until a later write removes it, and the last progress write is that write
//! (it deletes the job, `RunProgress::completes`): a crash loses only a suffix of the
//! WAL, so it loses progress together with the job's deletion, never the deletion
//! without the progress. The job then comes back with its lease, is handed back by
//! the reaper, and the at-least-once run redoes what was lost — a terminal write's
//! run event included (its delivery and job ride in that write, `progress.rs`),
//! which the redone run writes again. Any later synchronous commit flushes the WAL
//! before it, so lost progress is at most what the server had not flushed when it
//! died. Everything a client was told is accepted (runs, jobs, keys, secrets)
//! commits synchronously.

mod claim;
mod credits;
mod dashboard;
mod deliberation_checkpoints;
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
mod wakeups;
mod webhook_events;
mod webhooks;
mod workspaces;

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::Notify;

use self::wakeups::Wakeups;

use crate::error::StoreResult;
use crate::records::Backend;
use crate::{Store, StoreOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
    /// Sessions with `synchronous_commit = off`, for run progress only.
    progress: PgPool,
    wakeups: Wakeups,
}

impl PostgresStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        // No liveness ping before handing out a pooled connection: it would be one more
        // round trip on every store call. A connection the server dropped fails its
        // next statement instead, and is discarded (the caller sees a store error).
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .test_before_acquire(false)
            .connect(url)
            .await?;
        let progress = PgPoolOptions::new()
            .max_connections((options.max_connections / 2).max(2))
            .test_before_acquire(false)
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
        let wakeups = Wakeups::start(&pool).await?;
        Ok(PostgresStore {
            pool,
            progress,
            wakeups,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PostgresStore {
    /// Jobs may have become available: wake workers here and on other nodes.
    pub(super) fn wake_workers(&self) {
        self.wakeups.wake();
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
        self.wakeups.local.clone()
    }

    async fn close(&self) {
        self.wakeups.stop();
        self.pool.close().await;
        self.progress.close().await;
    }
}
