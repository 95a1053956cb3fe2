use async_trait::async_trait;
use pilot_domain::UnixMillis;

use super::PostgresStore;
use super::requeue::{self, followed};
use super::webhook_events::{deliver_ended_runs, ended_runs};
use crate::error::StoreResult;
use crate::processes::{NewProcess, PROCESS_GONE, ProcessRecord, ProcessStore, ReapedProcesses};
use crate::rows::ProcessRow;

/// Reaps at `$1` every process whose heartbeat lapsed but `$2` (the registering one,
/// or none), in one statement: the processes are deleted, their jobs released (the
/// attempt counted, `$3` the reason) and the runs of those jobs follow them. Answers
/// how many processes and jobs, and the runs it ended that make run events.
const REAP: &str = concat!(
    "WITH gone AS ( \
        DELETE FROM processes WHERE expires_at < $1 AND id IS DISTINCT FROM $2 \
        RETURNING id \
     ), moved AS ( \
        UPDATE jobs SET \
            state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
            last_error = $3, lease_owner = NULL, lease_expires_at = NULL, run_at = $1, \
            updated_at = $1 \
        WHERE state = 'running' AND lease_owner IN (SELECT id FROM gone) \
        RETURNING kind, state, payload \
     ), ",
    followed!("$1", "$3"),
    " SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM moved), ",
    ended_runs!()
);

#[async_trait]
impl ProcessStore for PostgresStore {
    async fn register_process(
        &self,
        process: &NewProcess,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> StoreResult<ReapedProcesses> {
        let mut tx = self.pool.begin().await?;
        let reaped = reap(&mut tx, Some(&process.id), now).await?;
        sqlx::query(
            "INSERT INTO processes (id, host, pid, started_at, heartbeat_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = $4, expires_at = $5",
        )
        .bind(&process.id)
        .bind(&process.host)
        .bind(i64::from(process.pid))
        .bind(now.0)
        .bind(expires_at.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if reaped.jobs > 0 {
            self.wake_workers();
        }
        Ok(reaped)
    }

    async fn heartbeat_process(
        &self,
        id: &str,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE processes SET heartbeat_at = $1, expires_at = $2 WHERE id = $3")
                .bind(now.0)
                .bind(expires_at.0)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn deregister_process(&self, id: &str, now: UnixMillis) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let released: i64 = sqlx::query_scalar(requeue::RELEASE_OWNERS)
            .bind(now.0)
            .bind(vec![id.to_owned()])
            .bind("")
            .bind(true)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM processes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if released > 0 {
            self.wake_workers();
        }
        Ok(released as u64)
    }

    async fn reap_processes(
        &self,
        now: UnixMillis,
        reaper: Option<&str>,
    ) -> StoreResult<ReapedProcesses> {
        let mut tx = self.pool.begin().await?;
        let reaped = reap(&mut tx, reaper, now).await?;
        tx.commit().await?;
        if reaped.jobs > 0 {
            self.wake_workers();
        }
        Ok(reaped)
    }

    async fn list_processes(&self) -> StoreResult<Vec<ProcessRecord>> {
        let rows: Vec<ProcessRow> = sqlx::query_as(
            "SELECT id, host, pid, started_at, heartbeat_at, expires_at FROM processes \
             ORDER BY started_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

/// [`REAP`] on `conn`, inside the caller's transaction, with the deliveries of the
/// runs it ended.
async fn reap(
    conn: &mut sqlx::PgConnection,
    except: Option<&str>,
    now: UnixMillis,
) -> StoreResult<ReapedProcesses> {
    let (processes, jobs, ended): (i64, i64, String) = sqlx::query_as(REAP)
        .bind(now.0)
        .bind(except)
        .bind(PROCESS_GONE)
        .fetch_one(&mut *conn)
        .await?;
    deliver_ended_runs(conn, &ended, now).await?;
    Ok(ReapedProcesses {
        processes: processes as u64,
        jobs: jobs as u64,
    })
}
