//! SQLite readers: a few threads, each owning a read connection.
//!
//! A read is a closure sent to whichever reader thread is free; it runs inside a read
//! transaction, so every statement in it sees one snapshot. In WAL mode readers never
//! wait for the writer, and the writer answers only after committing, so a read that
//! starts after a write was answered sees it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::RwLock;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{StoreError, StoreResult};

type Read = Box<dyn FnOnce(&Connection) + Send>;

pub(super) struct Readers {
    /// `None` once closed: later reads fail at once.
    sender: RwLock<Option<Sender<Read>>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Readers {
    /// Starts one thread per connection.
    pub(super) fn start(connections: Vec<Connection>) -> std::io::Result<Readers> {
        let (sender, receiver) = crossbeam_channel::unbounded::<Read>();
        let mut threads = Vec::with_capacity(connections.len());
        for (n, conn) in connections.into_iter().enumerate() {
            let receiver = receiver.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("pilot-sqlite-reader-{n}"))
                    .spawn(move || serve(conn, receiver))?,
            );
        }
        Ok(Readers {
            sender: RwLock::new(Some(sender)),
            threads: std::sync::Mutex::new(threads),
        })
    }

    /// Runs `op` on a read connection, inside one read transaction.
    pub(super) async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let read: Read = Box::new(move |conn| {
            let _ = reply.send(in_snapshot(conn, op));
        });
        let closed = || StoreError::Unavailable("the store is closed".into());
        {
            let sender = self.sender.read().map_err(|_| closed())?;
            sender
                .as_ref()
                .ok_or_else(closed)?
                .send(read)
                .map_err(|_| closed())?;
        }
        answer
            .await
            .map_err(|_| StoreError::Unavailable("a SQLite read panicked".into()))?
    }

    /// Lets queued reads finish, then closes every connection and ends the threads.
    pub(super) async fn close(&self) {
        if let Ok(mut sender) = self.sender.write() {
            sender.take();
        }
        let threads: Vec<_> = self
            .threads
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        super::join(threads).await;
    }
}

fn in_snapshot<T>(
    conn: &Connection,
    op: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let result = op(conn);
    // Ends the read transaction whatever happened; a read changes nothing to keep.
    let _ = conn
        .prepare_cached("COMMIT")
        .and_then(|mut end| end.execute([]));
    result
}

/// A reader thread: runs reads until every sender is gone.
fn serve(conn: Connection, receiver: Receiver<Read>) {
    while let Ok(read) = receiver.recv() {
        // A panicking read drops its reply (its caller hears so); the thread goes on,
        // after ending the read transaction the panic may have left open.
        if catch_unwind(AssertUnwindSafe(|| read(&conn))).is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}
