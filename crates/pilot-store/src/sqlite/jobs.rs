use async_trait::async_trait;
use pilot_domain::{JobId, NewJob, UnixMillis};
use sqlx::SqliteConnection;
use sqlx::types::Json;

use super::SqliteStore;
use crate::JobStore;
use crate::error::StoreResult;
use crate::records::{ClaimRequest, ClaimedJob, JobFinish, JobRecord, QueueCounts};
use crate::rows::{JobRow, counts_from, finish_columns, jobs_as_json};

/// SQLite has no array parameters: id lists travel as one JSON array, read by `json_each`.
fn ids_json(ids: &[JobId]) -> String {
    serde_json::to_string(&ids.iter().map(|id| id.0).collect::<Vec<_>>())
        .expect("a list of integers serializes")
}

/// Inserts one job on `conn`, which may be inside a transaction that also changes the
/// rows the job is about: the job then exists exactly when that change does. The
/// caller notifies waiters after commit.
pub(crate) async fn insert_job(
    conn: &mut SqliteConnection,
    job: &NewJob,
    now: UnixMillis,
) -> StoreResult<JobId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
    )
    .bind(&job.kind)
    .bind(Json(&job.payload))
    .bind(job.workspace_id.map(|w| w.0))
    .bind(job.run_at.0)
    .bind(job.max_attempts)
    .bind(now.0)
    .fetch_one(conn)
    .await?;
    Ok(JobId(id))
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(&self, job: &NewJob, now: UnixMillis) -> StoreResult<JobId> {
        let mut conn = self.writer.acquire().await?;
        let id = insert_job(&mut conn, job, now).await?;
        self.job_notify.notify_waiters();
        Ok(id)
    }

    async fn enqueue_many(&self, jobs: &[NewJob], now: UnixMillis) -> StoreResult<u64> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, created_at, updated_at) \
             SELECT value ->> '$.kind', value -> '$.payload', value ->> '$.workspace_id', \
                    value ->> '$.run_at', value ->> '$.max_attempts', ?1, ?1 \
             FROM json_each(?2)",
        )
        .bind(now.0)
        .bind(Json(jobs_as_json(jobs)))
        .execute(&self.writer)
        .await?;
        self.job_notify.notify_waiters();
        Ok(done.rows_affected())
    }

    async fn claim(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedJob>> {
        super::claim::claim(&self.writer, request).await
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
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ?1 \
             WHERE id IN (SELECT value FROM json_each(?2)) AND lease_owner = ?3 AND state = 'running'",
        )
        .bind(lease_until.0)
        .bind(ids_json(ids))
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn complete(&self, owner: &str, ids: &[JobId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?1)) \
             AND lease_owner = ?2 AND state = 'running'",
        )
        .bind(ids_json(ids))
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn finish(
        &self,
        owner: &str,
        id: JobId,
        finish: &JobFinish,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let (state, run_at, error, give_back) = finish_columns(finish);
        let done = sqlx::query(
            "UPDATE jobs SET state = ?1, run_at = COALESCE(?2, run_at), \
                    last_error = COALESCE(?3, last_error), attempts = attempts - ?4, \
                    lease_owner = NULL, lease_expires_at = NULL, updated_at = ?5 \
             WHERE id = ?6 AND lease_owner = ?7 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(run_at.map(|t| t.0))
        .bind(error)
        .bind(give_back)
        .bind(now.0)
        .bind(id.0)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, owner: &str, ids: &[JobId], now: UnixMillis) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, \
                    lease_expires_at = NULL, run_at = ?1, updated_at = ?1 \
             WHERE id IN (SELECT value FROM json_each(?2)) AND lease_owner = ?3 AND state = 'running'",
        )
        .bind(now.0)
        .bind(ids_json(ids))
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn reap_expired(&self, now: UnixMillis) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET \
                state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
                last_error = 'lease expired: the worker running this job stopped responding', \
                lease_owner = NULL, lease_expires_at = NULL, run_at = ?1, updated_at = ?1 \
             WHERE state = 'running' AND lease_expires_at < ?1",
        )
        .bind(now.0)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() > 0 {
            self.job_notify.notify_waiters();
        }
        Ok(done.rows_affected())
    }

    async fn queue_counts(&self) -> StoreResult<QueueCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(counts_from(rows))
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Option<JobRecord>> {
        let row = sqlx::query_as::<_, JobRow>(
            "SELECT id, kind, state, workspace_id, attempts, max_attempts, run_at, lease_owner, \
                    lease_expires_at, last_error FROM jobs WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }
}
