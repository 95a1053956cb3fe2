//! The process registry: which worker processes are alive, so that a process that
//! dies gives its jobs back at once instead of when each job's lease runs out.
//!
//! Every worker process registers under an id that is also the lease owner of every
//! job it claims, and heartbeats: each heartbeat moves its `expires_at` forward by
//! its lapse (a few heartbeat intervals). A process is **gone** when
//!
//! * its `expires_at` has passed (its heartbeats stopped: killed, frozen, cut off), or
//! * on SQLite, its lock file is free: each process sharing a SQLite file holds an
//!   exclusive `flock` on `<db>-processes/<id>.lock` beside the database for as long
//!   as it lives, and the kernel drops that lock the moment the process dies, however it
//!   dies. Another process that can take the lock knows the owner is gone, without
//!   waiting for the lapse — which is how a `pilot serve` restarted after `kill -9`
//!   takes its predecessor's jobs back as it starts. (PostgreSQL's processes may be
//!   on other machines; there the lapse is the only evidence.)
//!
//! [`ProcessStore::reap_processes`] releases every job of every gone process and
//! deletes the processes, in one transaction: the jobs go back to `queued` due at
//! once, their attempt counted as if their lease had expired (so a job that kills
//! its process every time still ends `dead`), and the runs of `run_pilot` jobs follow
//! their job (see [`crate::JobStore`]'s settling methods). Registering reaps too, so a
//! process starting beside a dead predecessor frees the workspace's slots before it
//! claims anything. A clean shutdown deregisters: anything still leased goes back
//! with its attempt returned, and the process row and lock file are removed.
//!
//! A process that was judged gone while alive (its heartbeats stalled past the lapse)
//! finds its row missing at its next heartbeat and registers again; the jobs it was
//! running were released meanwhile and may run twice — delivery is at least once.

use async_trait::async_trait;
use pilot_domain::UnixMillis;

use crate::error::StoreResult;

/// A process about to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProcess {
    /// Unique across the store; the lease owner of the jobs it claims. Letters,
    /// digits, `-` and `_` only: on SQLite it names the process's lock file.
    pub id: String,
    /// For operators: where it runs.
    pub host: String,
    pub pid: u32,
}

/// A registered process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessRecord {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: UnixMillis,
    pub heartbeat_at: UnixMillis,
    /// Past this without a heartbeat, the process is gone.
    pub expires_at: UnixMillis,
}

/// What a reap found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReapedProcesses {
    /// Processes found gone and removed.
    pub processes: u64,
    /// Their jobs, handed back to the queue (or buried when out of attempts).
    pub jobs: u64,
}

/// Why a gone process's jobs were released, as their `last_error` says.
pub(crate) const PROCESS_GONE: &str =
    "the worker process running this job stopped (its heartbeat lapsed or its lock was free)";

#[async_trait]
pub trait ProcessStore {
    /// Registers `process` (again, if it already is), alive until `expires_at` unless
    /// it heartbeats, after reaping every process that is gone at `now` (see
    /// [`ProcessStore::reap_processes`]) — what it reaped is returned. On SQLite the
    /// process's lock file is taken first; an id whose lock another process holds is
    /// refused with [`crate::StoreError::Conflict`].
    async fn register_process(
        &self,
        process: &NewProcess,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> StoreResult<ReapedProcesses>;

    /// Moves a registered process's `expires_at`; `false` if it is not registered
    /// (it was judged gone and reaped): it should register again.
    async fn heartbeat_process(
        &self,
        id: &str,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> StoreResult<bool>;

    /// A clean exit: hands back every job still leased to `id` with its attempt
    /// returned (runs back to `queued`), and removes the process (and its lock file).
    /// Returns how many jobs it handed back.
    async fn deregister_process(&self, id: &str, now: UnixMillis) -> StoreResult<u64>;

    /// Releases every job of every process gone at `now` — lapsed, or (SQLite) its
    /// lock free — and removes those processes, in one transaction. `reaper`, the
    /// process asking, is never taken for gone by itself (it is alive: it asks).
    async fn reap_processes(
        &self,
        now: UnixMillis,
        reaper: Option<&str>,
    ) -> StoreResult<ReapedProcesses>;

    /// Every registered process, oldest first.
    async fn list_processes(&self) -> StoreResult<Vec<ProcessRecord>>;
}
