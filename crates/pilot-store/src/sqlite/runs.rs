use async_trait::async_trait;
use pilot_domain::{Environment, FiredBy, PilotId, RunId, RunStatus, UnixMillis, WorkspaceId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::jobs::{ids_json, insert_job};
use super::row;
use super::secrets::sealed_secrets;
use super::webhooks::queue_run_event;
use crate::dashboard::{RunSummaryRecord, TenantRunsFilter};
use crate::error::StoreResult;
use crate::pilot_rows::{
    RunRow, StepRow, before_bound, is_finished, json_text, run_columns, run_ids, run_job,
    step_columns, with_steps,
};
use crate::pilots::{
    CreateRun, NewRun, RetryFrom, RetryRun, RunDetail, RunProgress, RunRecord, RunStore, RunWork,
    StepResultRecord,
};

/// Inserts a queued run of `pilot_id` with the pilot's current steps, and its job, on
/// the writer's connection: inside the caller's write, which has already checked the
/// pilot and counted the run on it. The run's trigger type is the pilot's.
pub(super) fn queue_run_of_pilot(
    conn: &Connection,
    pilot_id: PilotId,
    fired_by: FiredBy,
    payload: &str,
    request: Option<&str>,
    now: UnixMillis,
) -> StoreResult<RunRecord> {
    let run: RunRecord = row::one::<RunRow>(
        conn,
        concat!(
            "INSERT INTO runs (pilot_id, workspace_id, environment, status, trigger_type, \
             fired_by, payload, steps, created_at, authorized_key_id, request) \
             SELECT id, workspace_id, environment, 'queued', trigger_type, ?2, ?3, steps, ?4, \
                    steps_key_id, ?5 \
             FROM pilots WHERE id = ?1 RETURNING ",
            run_columns!()
        ),
        params![pilot_id.0, fired_by.as_str(), payload, now.0, request],
    )?
    .try_into()?;
    insert_job(conn, &run_job(&run, now), now)?;
    Ok(run)
}

/// These runs with their step results attached, in order.
fn details(conn: &Connection, runs: Vec<RunRow>) -> StoreResult<Vec<RunDetail>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let steps = row::all::<StepRow>(
        conn,
        concat!(
            "SELECT ",
            step_columns!(),
            " FROM run_steps WHERE run_id IN (SELECT value FROM json_each(?1))"
        ),
        [ids_json(run_ids(&runs))],
    )?;
    with_steps(runs, steps)
}

fn detail(conn: &Connection, run: Option<RunRow>) -> StoreResult<Option<RunDetail>> {
    Ok(details(conn, run.into_iter().collect())?.pop())
}

/// The run `id` of any tenant with its results, for the worker.
fn load(conn: &Connection, id: RunId) -> StoreResult<Option<RunDetail>> {
    let run = row::optional::<RunRow>(
        conn,
        concat!("SELECT ", run_columns!(), " FROM runs WHERE id = ?1"),
        [id.0],
    )?;
    detail(conn, run)
}

#[async_trait]
impl RunStore for SqliteStore {
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
        let payload = json_text(payload);
        let request = request.map(json_text);
        let created = self
            .writer
            .write(move |conn| {
                let counted = row::execute(
                    conn,
                    "UPDATE pilots SET run_count = run_count + 1, last_run_at = ?1 \
                     WHERE id = ?2 AND workspace_id = ?3 AND environment = ?4 \
                       AND status = 'active'",
                    params![now.0, pilot_id.0, workspace_id.0, environment.as_str()],
                )?;
                if counted != 1 {
                    let exists: bool = row::scalar(
                        conn,
                        "SELECT EXISTS (SELECT 1 FROM pilots \
                         WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3)",
                        params![pilot_id.0, workspace_id.0, environment.as_str()],
                    )?;
                    return Ok(if exists {
                        CreateRun::PilotPaused
                    } else {
                        CreateRun::PilotNotFound
                    });
                }
                let run = queue_run_of_pilot(
                    conn,
                    pilot_id,
                    fired_by,
                    &payload,
                    request.as_deref(),
                    now,
                )?;
                Ok(CreateRun::Created(run))
            })
            .await?;
        if matches!(created, CreateRun::Created(_)) {
            self.job_notify.notify_waiters();
        }
        Ok(created)
    }

    async fn get_run(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: RunId,
    ) -> StoreResult<Option<RunDetail>> {
        self.readers
            .read(move |conn| {
                let run = row::optional::<RunRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3"
                    ),
                    params![id.0, workspace_id.0, environment.as_str()],
                )?;
                detail(conn, run)
            })
            .await
    }

    async fn list_runs(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot_id: PilotId,
        before: Option<RunId>,
        limit: u32,
    ) -> StoreResult<Vec<RunDetail>> {
        self.readers
            .read(move |conn| {
                let runs = row::all::<RunRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE pilot_id = ?1 AND workspace_id = ?2 \
                          AND environment = ?3 AND id < ?4 ORDER BY id DESC LIMIT ?5"
                    ),
                    params![
                        pilot_id.0,
                        workspace_id.0,
                        environment.as_str(),
                        before_bound(before),
                        i64::from(limit)
                    ],
                )?;
                details(conn, runs)
            })
            .await
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
        let retried = self
            .writer
            .write(move |conn| retry(conn, workspace_id, environment, id, from, now))
            .await?;
        if matches!(retried, RetryRun::Created(_)) {
            self.job_notify.notify_waiters();
        }
        Ok(retried)
    }

    async fn load_run(&self, id: RunId) -> StoreResult<Option<RunDetail>> {
        self.readers.read(move |conn| load(conn, id)).await
    }

    async fn load_run_work(&self, id: RunId) -> StoreResult<Option<RunWork>> {
        self.readers
            .read(move |conn| {
                let Some(detail) = load(conn, id)? else {
                    return Ok(None);
                };
                let sealed_secrets =
                    sealed_secrets(conn, detail.run.workspace_id, detail.run.environment)?;
                Ok(Some(RunWork {
                    detail,
                    sealed_secrets,
                }))
            })
            .await
    }

    async fn record_progress(&self, id: RunId, progress: &RunProgress) -> StoreResult<()> {
        if progress.is_empty() {
            return Ok(());
        }
        let progress = progress.clone();
        let ends = progress.status.is_some_and(RunStatus::is_terminal);
        let queued = self
            .writer
            .write(move |conn| {
                for result in &progress.steps {
                    record_step(conn, id, result)?;
                }
                // Only the write that ends the run announces it.
                let was_running = ends
                    && row::optional_scalar::<String>(
                        conn,
                        "SELECT status FROM runs WHERE id = ?1",
                        [id.0],
                    )?
                    .and_then(|status| RunStatus::parse(&status))
                    .is_some_and(|status| !status.is_terminal());
                row::execute(
                    conn,
                    "UPDATE runs SET status = COALESCE(?1, status), \
                            started_at = COALESCE(started_at, ?2), \
                            error = COALESCE(?3, error), \
                            finished_at = COALESCE(?4, finished_at) \
                     WHERE id = ?5",
                    params![
                        progress.status.map(RunStatus::as_str),
                        progress.started_at.map(|t| t.0),
                        progress.error,
                        progress.finished_at.map(|t| t.0),
                        id.0
                    ],
                )?;
                if let Some(lease) = progress.completes.as_ref().filter(|_| ends) {
                    row::execute(
                        conn,
                        "DELETE FROM jobs WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
                        params![lease.job.0, lease.owner],
                    )?;
                }
                if was_running {
                    let now = progress.finished_at.unwrap_or(UnixMillis(0));
                    return queue_run_event(conn, id, now);
                }
                Ok(false)
            })
            .await?;
        if queued {
            self.job_notify.notify_waiters();
        }
        Ok(())
    }
}

fn record_step(conn: &Connection, id: RunId, result: &StepResultRecord) -> StoreResult<()> {
    row::execute(
        conn,
        "INSERT INTO run_steps (run_id, step_index, step_id, step_type, status, output, \
         error, attempts, started_at, duration_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (run_id, step_index) DO UPDATE SET step_id = excluded.step_id, \
            step_type = excluded.step_type, status = excluded.status, \
            output = excluded.output, error = excluded.error, attempts = excluded.attempts, \
            started_at = excluded.started_at, duration_ms = excluded.duration_ms",
        params![
            id.0,
            result.index,
            result.step_id,
            result.step_type,
            result.status.as_str(),
            result.output.as_ref().map(json_text),
            result.error,
            result.attempts,
            result.started_at.0,
            result.duration_ms
        ],
    )?;
    Ok(())
}

/// A new run repeating finished run `id`, from its start or from its first failed step.
fn retry(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
    id: RunId,
    from: RetryFrom,
    now: UnixMillis,
) -> StoreResult<RetryRun> {
    let original = row::optional::<(i64, String)>(
        conn,
        "SELECT pilot_id, status FROM runs \
         WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3",
        params![id.0, workspace_id.0, environment.as_str()],
    )?;
    let Some((pilot_id, status)) = original else {
        return Ok(RetryRun::RunNotFound);
    };
    if !is_finished(&status)? {
        return Ok(RetryRun::NotFinished);
    }
    // Resuming at the first failed step keeps the results of the steps before it.
    let keep_before = match from {
        RetryFrom::Start => None,
        RetryFrom::FailedStep => {
            let failed: Option<i32> = row::scalar(
                conn,
                "SELECT MIN(step_index) FROM run_steps WHERE run_id = ?1 AND status = 'failed'",
                [id.0],
            )?;
            match failed {
                Some(index) => Some(index),
                None => return Ok(RetryRun::NoFailedStep),
            }
        }
    };
    row::execute(
        conn,
        "UPDATE pilots SET run_count = run_count + 1, last_run_at = ?1 WHERE id = ?2",
        params![now.0, pilot_id],
    )?;
    let run: RunRecord = row::one::<RunRow>(
        conn,
        concat!(
            "INSERT INTO runs (pilot_id, workspace_id, environment, status, trigger_type, \
             fired_by, payload, steps, created_at, retry_of, authorized_key_id, request) \
             SELECT pilot_id, workspace_id, environment, 'queued', trigger_type, 'retry', \
                    payload, steps, \
                    ?2, id, authorized_key_id, request FROM runs WHERE id = ?1 RETURNING ",
            run_columns!()
        ),
        params![id.0, now.0],
    )?
    .try_into()?;
    if let Some(index) = keep_before {
        row::execute(
            conn,
            "INSERT INTO run_steps (run_id, step_index, step_id, step_type, status, output, \
             error, attempts, started_at, duration_ms) \
             SELECT ?1, step_index, step_id, step_type, status, output, error, attempts, \
                    started_at, duration_ms \
             FROM run_steps WHERE run_id = ?2 AND step_index < ?3",
            params![run.id.0, id.0, index],
        )?;
    }
    insert_job(conn, &run_job(&run, now), now)?;
    Ok(RetryRun::Created(run))
}
