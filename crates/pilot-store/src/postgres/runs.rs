use async_trait::async_trait;
use pilot_domain::{Environment, FiredBy, PilotId, RunId, UnixMillis, WorkspaceId};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};

use super::PostgresStore;
use super::jobs::insert_job;
use crate::dashboard::{RunSummaryRecord, TenantRunsFilter};
use crate::error::{StoreError, StoreResult};
use crate::pilot_rows::{
    RunRow, StepRow, before_bound, is_finished, json_column, json_text, run_columns, run_job,
    run_job_shape, step_columns, with_steps,
};
use crate::pilots::{
    CreateRun, NewRun, RetryFrom, RetryRun, RunDetail, RunProgress, RunRecord, RunStore, RunWork,
};

/// Inserts a queued run of `pilot_id` with the pilot's current steps, and its job, on
/// `conn`: inside the caller's transaction, which has already checked the pilot and
/// counted the run on it. The run's trigger type is the pilot's.
/// Counts a run on its pilot: one of the pilot's tally slots (migration 0016).
const TALLY_RUN: &str = "INSERT INTO pilot_run_tallies (pilot_id, slot, runs, last_run_at) \
    VALUES ($1, $2 % 16, 1, $3) \
    ON CONFLICT (pilot_id, slot) DO UPDATE SET runs = pilot_run_tallies.runs + 1, \
        last_run_at = GREATEST(pilot_run_tallies.last_run_at, EXCLUDED.last_run_at)";

pub(super) async fn queue_run_of_pilot(
    conn: &mut PgConnection,
    pilot_id: PilotId,
    fired_by: FiredBy,
    payload: &Value,
    now: UnixMillis,
) -> StoreResult<RunRecord> {
    let run: RunRecord = sqlx::query_as::<_, RunRow>(concat!(
        "INSERT INTO runs (pilot_id, workspace_id, environment, status, trigger_type, fired_by, \
         payload, steps, created_at, authorized_key_id) \
         SELECT id, workspace_id, environment, 'queued', trigger_type, $2, $3, steps, $4, \
                steps_key_id \
         FROM pilots WHERE id = $1 RETURNING ",
        run_columns!()
    ))
    .bind(pilot_id.0)
    .bind(fired_by.as_str())
    .bind(json_text(payload))
    .bind(now.0)
    .fetch_one(&mut *conn)
    .await?
    .try_into()?;
    insert_job(conn, &run_job(&run, now), now).await?;
    tally_run(conn, &run, now).await?;
    Ok(run)
}

/// Counts `run` on its pilot ([`TALLY_RUN`]).
async fn tally_run(conn: &mut PgConnection, run: &RunRecord, now: UnixMillis) -> StoreResult<()> {
    sqlx::query(TALLY_RUN)
        .bind(run.pilot_id.0)
        .bind(run.id.0)
        .bind(now.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The run columns and, as `step_results`, the run's step results as one JSON array:
/// every run read is one statement, and the results are found through the primary
/// key of `run_steps` once per run (a correlated subquery keeps that plan however
/// the tables grew since the statement was prepared).
macro_rules! run_with_results {
    () => {
        concat!(
            run_columns!(),
            ", (SELECT COALESCE(json_agg(s ORDER BY s.step_index), '[]')::text FROM ( \
                SELECT ",
            step_columns!(),
            " FROM run_steps WHERE run_id = runs.id) s) AS step_results"
        )
    };
}

/// A run read with [`run_with_results!`].
fn detail_of(row: &PgRow) -> StoreResult<RunDetail> {
    let steps: String = row.try_get("step_results")?;
    let steps: Vec<StepRow> = json_column("run_steps", &steps)?;
    with_steps(vec![RunRow::from_row(row)?], steps)?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a run read came back empty".into()))
}

#[async_trait]
impl RunStore for PostgresStore {
    async fn create_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot_id: PilotId,
        run: &NewRun<'_>,
        now: UnixMillis,
    ) -> StoreResult<CreateRun> {
        let NewRun {
            fired_by,
            payload,
            request,
        } = *run;
        // One statement, so one round trip. The pilot's row is only read: the run is
        // counted in one of the pilot's tally slots (migration 0016), so concurrent
        // runs of one pilot do not wait for each other's commits.
        let job = run_job_shape(now);
        let created = sqlx::query_as::<_, RunRow>(concat!(
            "WITH counted AS ( \
                SELECT id, workspace_id, environment, trigger_type, steps, steps_key_id \
                FROM pilots \
                WHERE id = $2 AND workspace_id = $3 AND environment = $4 AND status = 'active' \
             ), run AS ( \
                INSERT INTO runs (pilot_id, workspace_id, environment, status, trigger_type, \
                    fired_by, payload, steps, created_at, authorized_key_id, request) \
                SELECT id, workspace_id, environment, 'queued', trigger_type, $5, $6, steps, $1, \
                    steps_key_id, $9 \
                FROM counted \
                RETURNING ",
            run_columns!(),
            " ), job AS ( \
                INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, \
                    created_at, updated_at) \
                SELECT $7, jsonb_build_object('run_id', id), workspace_id, $1, $8, $1, $1 \
                FROM run \
             ), tally AS ( \
                INSERT INTO pilot_run_tallies (pilot_id, slot, runs, last_run_at) \
                SELECT pilot_id, id % 16, 1, $1 FROM run \
                ON CONFLICT (pilot_id, slot) DO UPDATE SET runs = pilot_run_tallies.runs + 1, \
                    last_run_at = GREATEST(pilot_run_tallies.last_run_at, EXCLUDED.last_run_at) \
             ) SELECT ",
            run_columns!(),
            " FROM run"
        ))
        .bind(now.0)
        .bind(pilot_id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(fired_by.as_str())
        .bind(json_text(payload))
        .bind(&job.kind)
        .bind(job.max_attempts)
        .bind(request.map(json_text))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(run) = created {
            self.wake_workers();
            return Ok(CreateRun::Created(run.try_into()?));
        }
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pilots \
             WHERE id = $1 AND workspace_id = $2 AND environment = $3)",
        )
        .bind(pilot_id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(if exists {
            CreateRun::PilotPaused
        } else {
            CreateRun::PilotNotFound
        })
    }

    async fn get_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: RunId,
    ) -> StoreResult<Option<RunDetail>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_with_results!(),
            " FROM runs WHERE id = $1 AND workspace_id = $2 AND environment = $3"
        ))
        .bind(id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(detail_of).transpose()
    }

    async fn list_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot_id: PilotId,
        before: Option<RunId>,
        limit: u32,
    ) -> StoreResult<Vec<RunDetail>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            run_with_results!(),
            " FROM runs WHERE pilot_id = $1 AND workspace_id = $2 AND environment = $3 \
              AND id < $4 ORDER BY id DESC LIMIT $5"
        ))
        .bind(pilot_id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(before_bound(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(detail_of).collect()
    }

    async fn list_tenant_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        filter: &TenantRunsFilter,
        limit: u32,
    ) -> StoreResult<Vec<RunSummaryRecord>> {
        self.tenant_runs(workspace_id, environment, filter, limit)
            .await
    }

    async fn retry_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: RunId,
        from: RetryFrom,
        now: UnixMillis,
    ) -> StoreResult<RetryRun> {
        let mut tx = self.pool.begin().await?;
        let original: Option<(String,)> = sqlx::query_as(
            "SELECT status FROM runs \
             WHERE id = $1 AND workspace_id = $2 AND environment = $3",
        )
        .bind(id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((status,)) = original else {
            return Ok(RetryRun::RunNotFound);
        };
        if !is_finished(&status)? {
            return Ok(RetryRun::NotFinished);
        }
        // Resuming at the first failed step keeps the results of the steps before it.
        let keep_before = match from {
            RetryFrom::Start => None,
            RetryFrom::FailedStep => {
                let failed: Option<i32> = sqlx::query_scalar(
                    "SELECT MIN(step_index) FROM run_steps WHERE run_id = $1 AND status = 'failed'",
                )
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await?;
                match failed {
                    Some(index) => Some(index),
                    None => return Ok(RetryRun::NoFailedStep),
                }
            }
        };
        let run: RunRecord = sqlx::query_as::<_, RunRow>(concat!(
            "INSERT INTO runs (pilot_id, workspace_id, environment, status, trigger_type, \
             fired_by, payload, steps, created_at, retry_of, authorized_key_id, request) \
             SELECT pilot_id, workspace_id, environment, 'queued', trigger_type, 'retry', \
                    payload, steps, $2, id, authorized_key_id, request \
             FROM runs WHERE id = $1 RETURNING ",
            run_columns!()
        ))
        .bind(id.0)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        if let Some(index) = keep_before {
            sqlx::query(
                "INSERT INTO run_steps (run_id, step_index, step_id, step_type, status, output, \
                 error, attempts, started_at, duration_ms) \
                 SELECT $1, step_index, step_id, step_type, status, output, error, attempts, \
                        started_at, duration_ms \
                 FROM run_steps WHERE run_id = $2 AND step_index < $3",
            )
            .bind(run.id.0)
            .bind(id.0)
            .bind(index)
            .execute(&mut *tx)
            .await?;
        }
        insert_job(&mut tx, &run_job(&run, now), now).await?;
        tally_run(&mut tx, &run, now).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(RetryRun::Created(run))
    }

    async fn load_run(&self, id: RunId) -> StoreResult<Option<RunDetail>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            run_with_results!(),
            " FROM runs WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(detail_of).transpose()
    }

    async fn load_run_work(&self, id: RunId) -> StoreResult<Option<RunWork>> {
        // One statement: the step results and the secrets ride along as JSON.
        let row = sqlx::query(concat!(
            "SELECT ",
            run_with_results!(),
            ", (SELECT COALESCE(json_agg(json_build_array(name, sealed_value) ORDER BY name), \
                  '[]')::text FROM secrets \
                WHERE workspace_id = runs.workspace_id AND environment = runs.environment) \
                  AS sealed_secrets \
             FROM runs WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let secrets: String = row.try_get("sealed_secrets")?;
        Ok(Some(RunWork {
            detail: detail_of(&row)?,
            sealed_secrets: json_column("secrets", &secrets)?,
        }))
    }

    async fn record_progress(&self, id: RunId, progress: &RunProgress) -> StoreResult<()> {
        if progress.is_empty() {
            return Ok(());
        }
        let queued = super::progress::record(&self.progress, id, progress).await?;
        if queued > 0 {
            self.wake_workers();
        }
        Ok(())
    }
}
