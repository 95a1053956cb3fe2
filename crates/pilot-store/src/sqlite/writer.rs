//! The SQLite writer: one thread owning the one write connection, with group commit.
//!
//! SQLite allows one writer at a time, so every write of this process is a closure
//! sent to this thread. The thread takes whatever writes are waiting (up to
//! [`MAX_BATCH`]), runs them in one `BEGIN IMMEDIATE` transaction, each inside a
//! savepoint of its own, and commits once for all of them. Only after that commit
//! does any of them get its answer: a caller that hears `Ok` holds a committed write.
//!
//! * A write that returns an error (or panics) is rolled back to its savepoint; the
//!   others in its batch are not affected, and the caller gets its own error.
//! * If the transaction cannot begin or commit, every write in the batch gets that
//!   error and nothing of the batch is kept.
//! * Under load, batches grow by themselves, so a thousand concurrent writes cost a
//!   few commits and thread wake-ups instead of a thousand. Nothing waits for a batch
//!   to fill: a lone write is committed at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::checkpointer::Wal;

use crate::error::{StoreError, StoreResult};

/// The most writes one transaction carries, so one batch cannot hold the answers of
/// the writes in it for long.
const MAX_BATCH: usize = 512;

/// One write waiting for the thread: run it, then hear how its transaction ended.
trait Write: Send {
    /// Runs the write on the connection, inside its savepoint; `false` if it failed
    /// and must be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;

    /// Answers the caller once the batch's transaction has ended.
    fn answer(self: Box<Self>, committed: Result<(), &str>);
}

struct Pending<F, T> {
    op: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<F, T> Write for Pending<F, T>
where
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
    T: Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(op) = self.op.take() else {
            return false;
        };
        let result = op(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, committed: Result<(), &str>) {
        let answer = match (committed, self.result) {
            // Its own error, even when the batch committed: its savepoint was undone.
            (_, Some(Err(error))) => Err(error),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Ok(()), None) => Err(StoreError::Unavailable(
                "the write did not run to completion (it panicked)".into(),
            )),
            (Err(why), _) => Err(StoreError::Unavailable(format!(
                "the write's transaction did not commit: {why}"
            ))),
        };
        // The caller may have gone away (its request was dropped): nothing to tell.
        let _ = self.reply.send(answer);
    }
}

enum Message {
    Write(Box<dyn Write>),
    /// Finish what is queued, close the connection, and stop.
    Close(oneshot::Sender<()>),
}

/// The handle the store keeps: sends writes to the thread.
pub(super) struct Writer {
    /// `None` once closed: later writes fail at once instead of waiting forever.
    sender: RwLock<Option<Sender<Message>>>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread on `conn`. Its commits never checkpoint: the
    /// checkpointer sharing `wal` does, off the write path.
    pub(super) fn start(conn: Connection, wal: Arc<Wal>) -> StoreResult<Writer> {
        Wal::attach(&conn)?;
        let (sender, receiver) = channel();
        let thread = std::thread::Builder::new()
            .name("pilot-sqlite-writer".into())
            .spawn(move || serve(conn, receiver, &wal))
            .map_err(|e| StoreError::Unavailable(format!("starting the writer: {e}")))?;
        Ok(Writer {
            sender: RwLock::new(Some(sender)),
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Runs `op` on the write connection inside a transaction; answers once that
    /// transaction has committed (or with the reason it did not).
    pub(super) async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = Box::new(Pending {
            op: Some(op),
            result: None,
            reply,
        });
        self.send(Message::Write(pending))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite writer stopped".into()))?
    }

    /// Commits what is queued, closes the connection and ends the thread.
    pub(super) async fn close(&self) {
        let (ack, acked) = oneshot::channel();
        if self.send(Message::Close(ack)).is_ok() {
            let _ = acked.await;
        }
        if let Ok(mut sender) = self.sender.write() {
            sender.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        super::join(thread).await;
    }

    fn send(&self, message: Message) -> StoreResult<()> {
        let closed = || StoreError::Unavailable("the store is closed".into());
        let sender = self.sender.read().map_err(|_| closed())?;
        sender
            .as_ref()
            .ok_or_else(closed)?
            .send(message)
            .map_err(|_| closed())
    }
}

/// The thread's loop: a batch per wake-up until closed or every sender is gone.
fn serve(conn: Connection, receiver: Receiver<Message>, wal: &Wal) {
    let mut batch: Vec<Box<dyn Write>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = receiver.recv() {
        let mut close = None;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Write(write) => batch.push(write),
                Message::Close(ack) => {
                    close = Some(ack);
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                // Empty or disconnected: commit what there is.
                next = receiver.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit(&conn, &mut batch);
            wal.committed(&conn);
        }
        if let Some(ack) = close {
            drop(conn);
            let _ = ack.send(());
            return;
        }
    }
}

/// Runs a batch in one transaction and answers every write in it.
fn commit(conn: &Connection, batch: &mut Vec<Box<dyn Write>>) {
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        let why = error.to_string();
        for write in batch.drain(..) {
            write.answer(Err(&why));
        }
        return;
    }
    for write in batch.iter_mut() {
        if savepoint(conn, "SAVEPOINT write").is_err() {
            continue;
        }
        let ok = catch_unwind(AssertUnwindSafe(|| write.run(conn))).unwrap_or(false);
        if !ok {
            let _ = savepoint(conn, "ROLLBACK TO write");
        }
        let _ = savepoint(conn, "RELEASE write");
    }
    let committed = conn.execute_batch("COMMIT").map_err(|error| {
        let _ = conn.execute_batch("ROLLBACK");
        error.to_string()
    });
    if let Err(why) = &committed {
        tracing::error!(error = %why, writes = batch.len(), "a SQLite write batch did not commit");
    }
    for write in batch.drain(..) {
        write.answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

fn savepoint(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sqlite::{connection, row};

    /// A writer on a new file holding one table, `t (k, v)`.
    pub(in crate::sqlite) fn writer_on_new_file(wal: Arc<Wal>) -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let conn = connection::open(&dir.path().join("w.db"), Duration::from_secs(5)).unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v NOT NULL)")
            .unwrap();
        let writer = Writer::start(conn, wal).unwrap();
        (dir, Arc::new(writer))
    }

    pub(in crate::sqlite) fn count(writer: &Writer) -> impl Future<Output = StoreResult<i64>> + '_ {
        writer.write(|conn| row::scalar(conn, "SELECT COUNT(*) FROM t", []))
    }

    /// Concurrent writes land in shared batches; one that fails (a duplicate key, half
    /// written) is undone alone and its caller gets its own error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_is_undone_alone_within_its_batch() {
        let (_dir, writer) = writer_on_new_file(Arc::new(Wal::default()));
        let mut tasks = Vec::new();
        for k in 0..200i64 {
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                writer
                    .write(move |conn| {
                        row::execute(conn, "INSERT INTO t VALUES (?1 + 1000, 'side')", [k])?;
                        // Every tenth write then collides with the row all of them share.
                        let key = if k % 10 == 0 { 0 } else { k + 1 };
                        row::execute(conn, "INSERT INTO t VALUES (?1, 'x')", [key])?;
                        Ok(k)
                    })
                    .await
            }));
        }
        let (mut ok, mut conflicts) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Conflict(_)) => conflicts += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        // k = 0 takes key 0 first, or one of the others does: exactly one of the twenty
        // writes aiming at key 0 succeeds.
        assert_eq!((ok, conflicts), (181, 19));
        // Each successful write kept both of its rows; each failed one kept neither.
        assert_eq!(count(&writer).await.unwrap(), 181 * 2);
    }

    #[tokio::test]
    async fn a_panicking_write_is_undone_and_the_writer_goes_on() {
        let (_dir, writer) = writer_on_new_file(Arc::new(Wal::default()));
        let panicked = writer
            .write(|conn| -> StoreResult<()> {
                row::execute(conn, "INSERT INTO t VALUES (1, 'x')", [])?;
                panic!("a bug in a write");
            })
            .await;
        assert!(
            matches!(panicked, Err(StoreError::Unavailable(_))),
            "{panicked:?}"
        );
        assert_eq!(count(&writer).await.unwrap(), 0);
        writer
            .write(|conn| row::execute(conn, "INSERT INTO t VALUES (1, 'y')", []))
            .await
            .unwrap();
        assert_eq!(count(&writer).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn writes_after_close_fail_at_once() {
        let (_dir, writer) = writer_on_new_file(Arc::new(Wal::default()));
        writer
            .write(|conn| row::execute(conn, "INSERT INTO t VALUES (1, 'x')", []))
            .await
            .unwrap();
        writer.close().await;
        let refused = count(&writer).await;
        assert!(
            matches!(refused, Err(StoreError::Unavailable(_))),
            "{refused:?}"
        );
    }
}
