use async_trait::async_trait;
use pilot_domain::{JobId, NewJob, UnixMillis};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::webhook_events::deliver_ended_runs;
use super::{PostgresStore, requeue};
use crate::JobStore;
use crate::error::StoreResult;
use crate::records::{ClaimRequest, ClaimedJob, JobFinish, JobRecord, QueueCounts};
use crate::rows::{JobRow, counts_from, finish_columns, jobs_as_json};

fn raw_ids(ids: &[JobId]) -> Vec<i64> {
    ids.iter().map(|id| id.0).collect()
}

/// Inserts one job on `conn`, which may be inside a transaction that also changes the
/// rows the job is about: the job then exists exactly when that change does. The
/// caller notifies waiters after commit.
pub(crate) async fn insert_job(
    conn: &mut PgConnection,
    job: &NewJob,
    now: UnixMillis,
) -> StoreResult<JobId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
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
impl JobStore for PostgresStore {
    async fn enqueue(&self, job: &NewJob, now: UnixMillis) -> StoreResult<JobId> {
        let mut conn = self.pool.acquire().await?;
        let id = insert_job(&mut conn, job, now).await?;
        self.wake_workers();
        Ok(id)
    }

    async fn enqueue_many(&self, jobs: &[NewJob], now: UnixMillis) -> StoreResult<u64> {
        if jobs.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, created_at, updated_at) \
             SELECT kind, payload, workspace_id, run_at, max_attempts, $1, $1 \
             FROM jsonb_to_recordset($2) \
                  AS j(kind text, payload jsonb, workspace_id bigint, run_at bigint, max_attempts int)",
        )
        .bind(now.0)
        .bind(Json(jobs_as_json(jobs)))
        .execute(&self.pool)
        .await?;
        self.wake_workers();
        Ok(done.rows_affected())
    }

    async fn claim(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedJob>> {
        let jobs = super::claim::claim(&self.pool, request).await?;
        // A full claim may have left due jobs behind: other workers, here or on other
        // nodes, may have room for them.
        if jobs.len() as u64 == u64::from(request.limit) {
            self.wake_workers();
        }
        Ok(jobs)
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
            "UPDATE jobs SET lease_expires_at = $1 \
             WHERE id = ANY($2) AND lease_owner = $3 AND state = 'running'",
        )
        .bind(lease_until.0)
        .bind(raw_ids(ids))
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn complete(&self, owner: &str, ids: &[JobId]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "DELETE FROM jobs WHERE id = ANY($1) AND lease_owner = $2 AND state = 'running'",
        )
        .bind(raw_ids(ids))
        .bind(owner)
        .execute(&self.pool)
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
        let bind = |sql| {
            sqlx::query(sql)
                .bind(state.as_str())
                .bind(run_at.map(|t| t.0))
                .bind(error)
                .bind(give_back)
                .bind(now.0)
                .bind(id.0)
                .bind(owner)
        };
        let settled = match finish {
            JobFinish::Snooze { .. } => bind(requeue::SNOOZE)
                .execute(&self.pool)
                .await?
                .rows_affected(),
            JobFinish::Retry { .. } => {
                let moved: i64 = bind(requeue::FINISH_FOLLOWED)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?;
                moved as u64
            }
            // Burying may end a run, whose event is written in the same transaction.
            JobFinish::Dead { .. } => {
                let mut tx = self.pool.begin().await?;
                let row = bind(requeue::FINISH_FOLLOWED).fetch_one(&mut *tx).await?;
                let (moved, ended): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
                let queued = deliver_ended_runs(&mut tx, &ended, now).await?;
                tx.commit().await?;
                if queued > 0 {
                    self.wake_workers();
                }
                moved as u64
            }
        };
        Ok(settled == 1)
    }

    async fn release(&self, owner: &str, ids: &[JobId], now: UnixMillis) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let released: i64 = sqlx::query_scalar(requeue::RELEASE)
            .bind(now.0)
            .bind(raw_ids(ids))
            .bind(owner)
            .fetch_one(&self.pool)
            .await?;
        if released > 0 {
            self.wake_workers();
        }
        Ok(released as u64)
    }

    async fn reap_expired(&self, now: UnixMillis) -> StoreResult<u64> {
        // A transaction, for the events of the runs buried jobs end.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(requeue::REAP_EXPIRED)
            .bind(now.0)
            .bind("lease expired: the worker running this job stopped responding")
            .fetch_one(&mut *tx)
            .await?;
        let (reaped, ended): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        deliver_ended_runs(&mut tx, &ended, now).await?;
        tx.commit().await?;
        if reaped > 0 {
            self.wake_workers();
        }
        Ok(reaped as u64)
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
                    lease_expires_at, last_error FROM jobs WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }
}
