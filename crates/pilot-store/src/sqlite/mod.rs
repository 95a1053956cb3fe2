//! The embedded store: one SQLite file in WAL mode, through rusqlite.
//!
//! SQLite allows one writer at a time. Every write of this process is a closure run
//! by one writer thread that owns the write connection and commits whatever writes
//! are waiting in one transaction (group commit, [`writer`]); reads run on a few
//! reader threads, each with its own connection ([`readers`]). A store call is one
//! round trip to one of those threads, however many statements it runs. A fourth
//! kind of thread checkpoints the WAL off the write path ([`checkpointer`]). Between
//! processes sharing the file (`pilot serve` beside `pilot worker`), `busy_timeout`
//! makes a writer wait for the lock rather than fail. Writes run in `BEGIN IMMEDIATE`
//! transactions, so a claim's reads and updates see no other writer in between.
//! Those processes also tell each other alive from gone through `flock`s on lock
//! files beside the database ([`process_locks`]).

mod checkpointer;
mod claim;
mod connection;
mod credits;
mod dashboard;
mod deliberation_checkpoints;
mod deliberations;
mod idempotency;
mod jobs;
mod keys;
mod migrate;
mod pilots;
mod process_locks;
mod processes;
mod rate_limits;
mod readers;
mod requeue;
pub(crate) mod row;
mod runs;
mod secrets;
mod usage;
mod users;
mod webhooks;
mod workspaces;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::Notify;

use crate::error::{StoreError, StoreResult};
use crate::records::Backend;
use crate::{Store, StoreOptions};
use checkpointer::{Checkpointer, Wal};
use process_locks::ProcessLocks;
use readers::Readers;
use writer::Writer;

pub struct SqliteStore {
    readers: Readers,
    writer: Writer,
    checkpointer: Checkpointer,
    job_notify: Arc<Notify>,
    /// The `flock`s that tell this file's processes alive from gone (`processes.rs`).
    locks: Arc<ProcessLocks>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path`: the write connection
    /// first, so it creates the file and sets WAL mode, then one read connection per
    /// `options.max_connections`.
    pub async fn open(path: &Path, options: &StoreOptions) -> StoreResult<Self> {
        let locks = Arc::new(ProcessLocks::beside(path));
        let path = path.to_owned();
        let busy = Duration::from_millis(options.busy_timeout_ms);
        let readers = options.max_connections.max(1) as usize;
        let (write, reads, checkpoints) = tokio::task::spawn_blocking(move || {
            let write = connection::open(&path, busy)?;
            let reads = (0..readers)
                .map(|_| connection::open(&path, busy))
                .collect::<rusqlite::Result<Vec<Connection>>>()?;
            let checkpoints = connection::open(&path, busy)?;
            Ok::<_, rusqlite::Error>((write, reads, checkpoints))
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("opening SQLite: {e}")))??;
        let threads = |e: std::io::Error| StoreError::Unavailable(format!("starting threads: {e}"));
        let wal = Arc::new(Wal::default());
        Ok(SqliteStore {
            writer: Writer::start(write, wal.clone())?,
            readers: Readers::start(reads).map_err(threads)?,
            checkpointer: Checkpointer::start(checkpoints, wal).map_err(threads)?,
            job_notify: Arc::new(Notify::new()),
            locks,
        })
    }
}

/// Waits, off the async runtime, for threads of the store to end.
async fn join(threads: impl IntoIterator<Item = JoinHandle<()>>) {
    let threads: Vec<_> = threads.into_iter().collect();
    if threads.is_empty() {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        for thread in threads {
            let _ = thread.join();
        }
    })
    .await;
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.writer.write(migrate::run).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.readers
            .read(|conn| row::scalar::<i64>(conn, "SELECT 1", []).map(drop))
            .await
    }

    fn job_notify(&self) -> Arc<Notify> {
        self.job_notify.clone()
    }

    /// Also lets go of the process locks still held (a process that did not
    /// deregister), as the kernel would when the process ends.
    async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
        self.checkpointer.close().await;
        self.locks.drop_all();
    }
}
