//! Waking workers on every node when jobs become available, without a lock on the
//! commit path.
//!
//! A `NOTIFY` sent inside a transaction makes its commit take a database-wide lock,
//! held until the commit's WAL flush: with a trigger notifying on every job insert,
//! every transaction that enqueued (every accepted run) committed one at a time
//! (`Lock/object` waits in `pg_stat_activity`). So nothing notifies inside a
//! transaction any more. A store that enqueued wakes this process's workers at once
//! (the local [`Notify`]) and asks its notifier task to tell the other nodes: the
//! task sends one `NOTIFY pilot_jobs` in a statement of its own, and requests that
//! arrive while one is on its way are answered together by the next (a [`Notify`]
//! permit). So other nodes hear of work one round trip after its commit, and a burst
//! of enqueues costs a handful of notifications, not one each. A wake-up lost (the
//! notifier's connection down, a process killed between commit and notify) costs
//! latency, never a job: every worker also polls.

use std::sync::Arc;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::StoreResult;

const JOBS_CHANNEL: &str = "pilot_jobs";

pub(super) struct Wakeups {
    /// This process's workers.
    pub(super) local: Arc<Notify>,
    /// The notifier task's doorbell.
    remote: Arc<Notify>,
    tasks: [JoinHandle<()>; 2],
}

impl Wakeups {
    /// Listens for other nodes' notifications and starts the notifier.
    pub(super) async fn start(pool: &PgPool) -> StoreResult<Wakeups> {
        let local = Arc::new(Notify::new());
        let remote = Arc::new(Notify::new());
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(JOBS_CHANNEL).await?;
        // This store's notifications carry its own id, so it does not wake its own
        // workers twice for one enqueue.
        let origin = ulid::Ulid::new().to_string();
        let tasks = [
            tokio::spawn(forward_notifications(
                listener,
                local.clone(),
                origin.clone(),
            )),
            tokio::spawn(notify_other_nodes(pool.clone(), remote.clone(), origin)),
        ];
        Ok(Wakeups {
            local,
            remote,
            tasks,
        })
    }

    /// Jobs may have become available (after the commit that made them so).
    pub(super) fn wake(&self) {
        self.local.notify_waiters();
        self.remote.notify_one();
    }

    pub(super) fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Turns each `NOTIFY pilot_jobs` into a local wake-up. `PgListener` reconnects by
/// itself; while it is down, workers still find work by polling.
async fn forward_notifications(mut listener: PgListener, notify: Arc<Notify>, origin: String) {
    loop {
        match listener.recv().await {
            Ok(heard) if heard.payload() == origin => {}
            Ok(_) => notify.notify_waiters(),
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "job notification listener lost its connection; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// One `NOTIFY` per ring of the doorbell, however many rang while the last was sent.
async fn notify_other_nodes(pool: PgPool, doorbell: Arc<Notify>, origin: String) {
    loop {
        doorbell.notified().await;
        match sqlx::query("SELECT pg_notify($1, $2)")
            .bind(JOBS_CHANNEL)
            .bind(&origin)
            .execute(&pool)
            .await
        {
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => tracing::warn!(%error, "telling other nodes about new jobs failed"),
        }
    }
}
