use async_trait::async_trait;
use pilot_domain::{JobId, NewJob, UnixMillis};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::{requeue, row};
use crate::JobStore;
use crate::error::StoreResult;
use crate::records::{ClaimRequest, ClaimedJob, JobFinish, JobRecord, QueueCounts};
use crate::rows::{JobRow, counts_from, finish_columns, jobs_as_json};

/// SQLite has no array parameters: id lists travel as one JSON array, read by `json_each`.
pub(super) fn ids_json(ids: impl IntoIterator<Item = i64>) -> String {
    serde_json::to_string(&ids.into_iter().collect::<Vec<_>>())
        .expect("a list of integers serializes")
}

/// Inserts one job on `conn`, inside the writer's transaction that may also change
/// the rows the job is about: the job then exists exactly when that change does. The
/// caller notifies waiters after the write is answered.
pub(crate) fn insert_job(conn: &Connection, job: &NewJob, now: UnixMillis) -> StoreResult<JobId> {
    let id: i64 = row::scalar(
        conn,
        "INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
        params![
            job.kind,
            job.payload.to_string(),
            job.workspace_id.map(|w| w.0),
            job.run_at.0,
            job.max_attempts,
            now.0
        ],
    )?;
    Ok(JobId(id))
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(&self, job: &NewJob, now: UnixMillis) -> StoreResult<JobId> {
        let job = job.clone();
        let id = self
            .writer
            .write(move |conn| insert_job(conn, &job, now))
            .await?;
        self.job_notify.notify_waiters();
        Ok(id)
    }

    async fn enqueue_many(&self, jobs: &[NewJob], now: UnixMillis) -> StoreResult<u64> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let jobs = jobs_as_json(jobs).to_string();
        let inserted = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, \
                     created_at, updated_at) \
                     SELECT value ->> '$.kind', value -> '$.payload', value ->> '$.workspace_id', \
                            value ->> '$.run_at', value ->> '$.max_attempts', ?1, ?1 \
                     FROM json_each(?2)",
                    params![now.0, jobs],
                )
            })
            .await?;
        self.job_notify.notify_waiters();
        Ok(inserted as u64)
    }

    async fn claim(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedJob>> {
        let request = super::claim::Claim::from(request);
        self.writer
            .write(move |conn| super::claim::claim(conn, &request))
            .await
    }

    async fn heartbeat(
        &self,
        owner: &str,
        ids: &[JobId],
        lease_until: UnixMillis,
    ) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (ids, owner) = (ids_json(ids.iter().map(|id| id.0)), owner.to_owned());
        let held = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE jobs SET lease_expires_at = ?1 \
                     WHERE id IN (SELECT value FROM json_each(?2)) AND lease_owner = ?3 \
                       AND state = 'running'",
                    params![lease_until.0, ids, owner],
                )
            })
            .await?;
        Ok(held as u64)
    }

    async fn complete(&self, owner: &str, ids: &[JobId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (ids, owner) = (ids_json(ids.iter().map(|id| id.0)), owner.to_owned());
        let deleted = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) \
                     AND lease_owner = ?2 AND state = 'running'",
                    params![ids, owner],
                )
            })
            .await?;
        Ok(deleted as u64)
    }

    async fn finish(
        &self,
        owner: &str,
        id: JobId,
        finish: &JobFinish,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let (state, run_at, error, give_back) = finish_columns(finish);
        let follow = !matches!(finish, JobFinish::Snooze { .. });
        let (error, owner) = (error.map(str::to_owned), owner.to_owned());
        self.writer
            .write(move |conn| {
                requeue::finish(
                    conn,
                    &owner,
                    id.0,
                    state.as_str(),
                    run_at.map(|t| t.0),
                    error.as_deref(),
                    give_back,
                    follow,
                    now.0,
                )
            })
            .await
    }

    async fn release(&self, owner: &str, ids: &[JobId], now: UnixMillis) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let (ids, owner) = (ids_json(ids.iter().map(|id| id.0)), owner.to_owned());
        let released = self
            .writer
            .write(move |conn| requeue::release(conn, &owner, &ids, now.0))
            .await?;
        if released > 0 {
            self.job_notify.notify_waiters();
        }
        Ok(released as u64)
    }

    async fn reap_expired(&self, now: UnixMillis) -> StoreResult<u64> {
        let reaped = self
            .writer
            .write(move |conn| requeue::reap_expired(conn, now.0))
            .await?;
        if reaped > 0 {
            self.job_notify.notify_waiters();
        }
        Ok(reaped as u64)
    }

    async fn queue_counts(&self) -> StoreResult<QueueCounts> {
        let rows = self
            .readers
            .read(|conn| {
                row::all::<(String, i64)>(
                    conn,
                    "SELECT state, COUNT(*) FROM jobs GROUP BY state",
                    [],
                )
            })
            .await?;
        Ok(counts_from(rows))
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<JobRow>(
                    conn,
                    "SELECT id, kind, state, workspace_id, attempts, max_attempts, run_at, \
                            lease_owner, lease_expires_at, last_error FROM jobs WHERE id = ?1",
                    [id.0],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }
}
