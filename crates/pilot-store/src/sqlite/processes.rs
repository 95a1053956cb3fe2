use std::sync::Arc;

use async_trait::async_trait;
use pilot_domain::UnixMillis;
use rusqlite::{Connection, params};

use super::process_locks::{ProcessLocks, Taken};
use super::{SqliteStore, requeue, row};
use crate::error::{StoreError, StoreResult};
use crate::processes::{NewProcess, PROCESS_GONE, ProcessRecord, ProcessStore, ReapedProcesses};
use crate::rows::ProcessRow;

/// On the writer's connection: finds every process gone at `now` but `except` —
/// lapsed, or its lock free — releases its jobs and deletes it. The locks found free
/// are returned, to be removed once this is committed.
fn reap(
    conn: &Connection,
    locks: &ProcessLocks,
    except: Option<&str>,
    now: i64,
) -> StoreResult<(ReapedProcesses, Vec<Taken>)> {
    let registered: Vec<(String, i64)> =
        row::all(conn, "SELECT id, expires_at FROM processes", [])?;
    let mut gone = Vec::new();
    let mut taken = Vec::new();
    for (id, expires_at) in &registered {
        if Some(id.as_str()) == except {
            continue;
        }
        if let Some(lock) = locks.take_if_gone(id) {
            taken.push(lock);
            gone.push(id.clone());
        } else if *expires_at < now {
            gone.push(id.clone());
        }
    }
    let ids: Vec<String> = registered.into_iter().map(|(id, _)| id).collect();
    taken.extend(locks.sweep_unregistered(&ids));
    let jobs = requeue::release_owners(conn, &gone, false, PROCESS_GONE, now)?;
    if !gone.is_empty() {
        let gone_json = serde_json::to_string(&gone).expect("a list of strings serializes");
        row::execute(
            conn,
            "DELETE FROM processes WHERE id IN (SELECT value FROM json_each(?1))",
            [gone_json],
        )?;
    }
    let reaped = ReapedProcesses {
        processes: gone.len() as u64,
        jobs: jobs as u64,
    };
    Ok((reaped, taken))
}

impl SqliteStore {
    /// Runs a reap on the writer (with `then` in the same transaction), removes the
    /// free lock files it found once committed, and wakes workers if jobs came back.
    async fn reaping<T, F>(
        &self,
        except: Option<String>,
        now: UnixMillis,
        then: F,
    ) -> StoreResult<T>
    where
        F: FnOnce(&Connection, ReapedProcesses) -> StoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let locks = self.locks.clone();
        let (value, reaped, taken) = self
            .writer
            .write(move |conn| {
                let (reaped, taken) = reap(conn, &locks, except.as_deref(), now.0)?;
                Ok((then(conn, reaped)?, reaped, taken))
            })
            .await?;
        taken.into_iter().for_each(Taken::remove);
        if reaped.jobs > 0 {
            self.job_notify.notify_waiters();
        }
        Ok(value)
    }
}

#[async_trait]
impl ProcessStore for SqliteStore {
    async fn register_process(
        &self,
        process: &NewProcess,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> StoreResult<ReapedProcesses> {
        let locks: Arc<ProcessLocks> = self.locks.clone();
        let id = process.id.clone();
        tokio::task::spawn_blocking(move || locks.hold(&id))
            .await
            .map_err(|e| StoreError::Unavailable(format!("taking the process lock: {e}")))?
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::WouldBlock => StoreError::Conflict(format!(
                    "another live process holds the lock of process {}",
                    process.id
                )),
                _ => StoreError::Unavailable(format!("taking the process lock: {error}")),
            })?;
        let process = process.clone();
        self.reaping(Some(process.id.clone()), now, move |conn, reaped| {
            row::execute(
                conn,
                "INSERT INTO processes (id, host, pid, started_at, heartbeat_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5) \
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = ?4, expires_at = ?5",
                params![
                    process.id,
                    process.host,
                    i64::from(process.pid),
                    now.0,
                    expires_at.0
                ],
            )?;
            Ok(reaped)
        })
        .await
    }

    async fn heartbeat_process(
        &self,
        id: &str,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> StoreResult<bool> {
        let id = id.to_owned();
        let beat = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE processes SET heartbeat_at = ?1, expires_at = ?2 WHERE id = ?3",
                    params![now.0, expires_at.0, id],
                )
            })
            .await?;
        Ok(beat == 1)
    }

    async fn deregister_process(&self, id: &str, now: UnixMillis) -> StoreResult<u64> {
        let owner = id.to_owned();
        let released = self
            .writer
            .write(move |conn| {
                let released =
                    requeue::release_owners(conn, std::slice::from_ref(&owner), true, "", now.0)?;
                row::execute(conn, "DELETE FROM processes WHERE id = ?1", [&owner])?;
                Ok(released)
            })
            .await?;
        self.locks.release(id);
        if released > 0 {
            self.job_notify.notify_waiters();
        }
        Ok(released as u64)
    }

    async fn reap_processes(
        &self,
        now: UnixMillis,
        reaper: Option<&str>,
    ) -> StoreResult<ReapedProcesses> {
        self.reaping(reaper.map(str::to_owned), now, |_, reaped| Ok(reaped))
            .await
    }

    async fn list_processes(&self) -> StoreResult<Vec<ProcessRecord>> {
        let rows = self
            .readers
            .read(|conn| {
                row::all::<ProcessRow>(
                    conn,
                    "SELECT id, host, pid, started_at, heartbeat_at, expires_at FROM processes \
                     ORDER BY started_at, id",
                    [],
                )
            })
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
