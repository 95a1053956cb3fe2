//! Checkpoints off the write path.
//!
//! In WAL mode a commit appends to the WAL; a checkpoint copies the WAL back into the
//! database file and syncs it. SQLite's default runs a checkpoint inside whichever
//! commit crosses 1,000 WAL pages, so every write waiting in that batch also waits
//! for two fsyncs. Here the writer's automatic checkpoints are off, and the
//! checkpointer thread, with a connection of its own, checkpoints `PASSIVE`ly (never
//! blocking the writer or readers) shortly after writes happen.
//!
//! A passive checkpoint running beside the writer rarely catches up with the last
//! commit, and SQLite only rewinds the WAL to its start when a write begins with the
//! WAL fully copied back. So once a commit leaves the WAL longer than
//! [`Wal::catch_up_pages`], the writer finishes the copy itself before its next batch
//! ([`Wal::committed`]): little is left to copy by then, and the next write rewinds
//! the WAL. The WAL's length stays bounded under any load.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How long after a commit the checkpointer runs (at most once per period).
const PERIOD: Duration = Duration::from_millis(50);

/// WAL pages past which the writer completes a checkpoint itself (32 MiB of 4 KiB
/// pages).
const CATCH_UP_PAGES: i64 = 8_192;

thread_local! {
    /// The WAL's length in pages after this thread's last commit (from SQLite's WAL
    /// hook, which runs on the committing thread).
    static WAL_PAGES: Cell<i64> = const { Cell::new(0) };
}

/// What the writer and the checkpointer share.
pub(super) struct Wal {
    catch_up_pages: i64,
    /// A commit happened since the last checkpoint.
    dirty: AtomicBool,
    /// The WAL's length in pages after the last commit.
    pages: AtomicI64,
    closed: AtomicBool,
}

impl Default for Wal {
    fn default() -> Self {
        Wal::with_catch_up(CATCH_UP_PAGES)
    }
}

impl Wal {
    fn with_catch_up(catch_up_pages: i64) -> Wal {
        Wal {
            catch_up_pages,
            dirty: AtomicBool::new(false),
            pages: AtomicI64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// Makes `writer`'s commits report the WAL's length and never checkpoint.
    pub(super) fn attach(writer: &Connection) -> rusqlite::Result<()> {
        // The pragma resets the WAL hook, so it goes first.
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        writer.wal_hook(Some(record_pages));
        Ok(())
    }

    /// Called by the writer after each commit: wakes the checkpointer, or completes a
    /// checkpoint on the writer's own connection when the WAL has grown too long.
    pub(super) fn committed(&self, writer: &Connection) {
        let pages = WAL_PAGES.get();
        self.pages.store(pages, Ordering::Relaxed);
        if pages < self.catch_up_pages {
            self.dirty.store(true, Ordering::Relaxed);
            return;
        }
        if let Err(error) = checkpoint(writer) {
            tracing::warn!(%error, "SQLite checkpoint failed");
        }
    }
}

fn record_pages(_: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(i64::from(pages));
    Ok(())
}

/// The running checkpointer thread.
pub(super) struct Checkpointer {
    wal: Arc<Wal>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub(super) fn start(conn: Connection, wal: Arc<Wal>) -> std::io::Result<Checkpointer> {
        let shared = wal.clone();
        let thread = std::thread::Builder::new()
            .name("pilot-sqlite-checkpointer".into())
            .spawn(move || serve(conn, &shared))?;
        Ok(Checkpointer {
            wal,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Runs a last checkpoint and ends the thread.
    pub(super) async fn close(&self) {
        self.wal.closed.store(true, Ordering::Relaxed);
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = &thread {
            thread.thread().unpark();
        }
        super::join(thread).await;
    }
}

fn serve(conn: Connection, wal: &Wal) {
    loop {
        std::thread::park_timeout(PERIOD);
        let closing = wal.closed.load(Ordering::Relaxed);
        if (wal.dirty.swap(false, Ordering::Relaxed) || closing)
            && let Err(error) = checkpoint(&conn)
        {
            tracing::warn!(%error, "SQLite checkpoint failed");
        }
        if closing {
            return;
        }
    }
}

/// A passive checkpoint: copies back what no reader still needs, waiting for nobody.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::row;
    use crate::sqlite::writer::tests::{count, writer_on_new_file};

    /// Without the writer's catch-up, nothing would ever rewind the WAL here (no
    /// checkpointer runs at all), and it would hold every page ever written.
    #[tokio::test]
    async fn the_writer_keeps_the_wal_short_under_continuous_writes() {
        let wal = Arc::new(Wal::with_catch_up(64));
        let (_dir, writer) = writer_on_new_file(wal.clone());
        let mut longest = 0;
        for k in 0..500i64 {
            writer
                .write(move |conn| {
                    row::execute(conn, "INSERT INTO t VALUES (?1, zeroblob(4096))", [k])
                })
                .await
                .unwrap();
            longest = longest.max(wal.pages.load(Ordering::Relaxed));
        }
        // 500 commits of a page or more each; the WAL never held much past 64 pages.
        assert!(longest >= 64, "the WAL hook reports lengths: {longest}");
        assert!(longest < 64 + 16, "the WAL grew to {longest} pages");
        assert_eq!(count(&writer).await.unwrap(), 500);
    }
}
