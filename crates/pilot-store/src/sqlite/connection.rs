//! Opening a SQLite connection with the settings every Pilot connection shares.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Distinct statements the store prepares; each connection keeps them all cached.
const STATEMENT_CACHE: usize = 128;

/// Opens `path` (creating it if missing) in WAL mode with `synchronous = NORMAL`:
/// a commit is durable against a process crash without an fsync of its own (the WAL is
/// synced at checkpoints). Foreign keys are enforced, and a connection that meets
/// another process's write lock waits up to `busy_timeout` for it.
pub(super) fn open(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(busy_timeout)?;
    let _mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let _limit: i64 =
        conn.pragma_update_and_check(None, "journal_size_limit", WAL_SIZE_LIMIT, |row| row.get(0))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// After a checkpoint, a WAL file larger than this is cut back to it.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;
