//! A run's progress on PostgreSQL, one statement per write, on the pool whose
//! sessions commit asynchronously (see the module docs of `postgres`): the step
//! results as arrays, unnested, then the run's columns.
//!
//! A write that ends the run (a terminal status) also reads the status it had, under
//! the row's lock, and — only on the transition from a status that was not terminal,
//! and only for a pilot with a notify URL — writes the run event's delivery and job
//! in data-modifying CTEs of the same statement (`webhook_events::deliver_events!`).
//! Every other write is the one statement it always was.

use pilot_domain::{RunId, RunStatus, UnixMillis};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgPool, Postgres};

use super::webhook_events::{deliver_events, run_event_payload};
use crate::error::StoreResult;
use crate::pilot_rows::json_text;
use crate::pilots::{RunProgress, StepResultRecord};
use crate::webhook_writes::{
    delivery_job_payload, new_delivery_id, new_endpoint_id, new_event_id, run_event_kind,
};
use crate::webhooks::{DELIVERY_JOB_KIND, DELIVERY_JOB_MAX_ATTEMPTS};

/// The `recorded` CTE: run `$1`'s step results `$2`–`$10`, each replacing an
/// earlier attempt's at its index.
macro_rules! recorded {
    () => {
        "recorded AS ( \
            INSERT INTO run_steps (run_id, step_index, step_id, step_type, status, output, \
                error, attempts, started_at, duration_ms) \
            SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::text[], $5::text[], \
                $6::text[], $7::text[], $8::int[], $9::bigint[], $10::bigint[]) \
            ON CONFLICT (run_id, step_index) DO UPDATE SET step_id = excluded.step_id, \
                step_type = excluded.step_type, status = excluded.status, \
                output = excluded.output, error = excluded.error, \
                attempts = excluded.attempts, started_at = excluded.started_at, \
                duration_ms = excluded.duration_ms \
         )"
    };
}

/// Progress that does not end the run: its results, then its columns (status `$11`,
/// start `$12`, error `$13`, finish `$14`).
const PROGRESS: &str = concat!(
    "WITH ",
    recorded!(),
    " UPDATE runs SET status = COALESCE($11, status), \
        started_at = COALESCE(started_at, $12), error = COALESCE($13, error), \
        finished_at = COALESCE($14, finished_at) \
     WHERE id = $1"
);

/// Progress that ends the run: as [`PROGRESS`], and if the run had not ended before
/// and its pilot has a notify URL, the run event's delivery (`$15`, endpoint `$16`
/// should it be new, event `$17` of kind `$18`, job payload `$19`) and its job
/// (kind `$20`, attempts `$21`), stamped with the run's finish; and the run's job
/// `$22` leased by `$23`, when given, leaves the queue. Answers how many jobs it
/// queued.
const ENDING: &str = concat!(
    "WITH ",
    recorded!(),
    ", was AS (SELECT id, status FROM runs WHERE id = $1 FOR UPDATE), \
     run AS ( \
        UPDATE runs SET status = COALESCE($11, runs.status), \
            started_at = COALESCE(runs.started_at, $12), error = COALESCE($13, runs.error), \
            finished_at = COALESCE($14, runs.finished_at) \
        FROM was WHERE runs.id = was.id \
        RETURNING runs.id, runs.pilot_id, runs.workspace_id, runs.environment, runs.status, \
            runs.started_at, runs.finished_at, runs.error, runs.created_at, was.status AS was \
     ), events AS ( \
        SELECT $15::text AS id, $16::text AS endpoint_id, $17::text AS event_id, \
            $18::text AS event, run.workspace_id, run.environment, p.notify_url AS url, \
            NULL::bigint AS key_id, ",
    run_event_payload!("run"),
    " AS payload, $19::text AS job_payload, \
            COALESCE(run.finished_at, run.started_at, run.created_at) AS at \
        FROM run JOIN pilots p ON p.id = run.pilot_id \
        WHERE p.notify_url IS NOT NULL AND run.was NOT IN ('success', 'filtered', 'failed') \
     ), ",
    deliver_events!(kind = "$20", max = "$21"),
    ", done AS ( \
        DELETE FROM jobs WHERE id = $22 AND lease_owner = $23 AND state = 'running' \
     ) SELECT COUNT(*) FROM job"
);

/// Records `progress` (not empty) of run `id` on `pool`; returns how many jobs it
/// queued (a run event's).
pub(super) async fn record(pool: &PgPool, id: RunId, progress: &RunProgress) -> StoreResult<u64> {
    // A step recorded twice keeps its last result (one row may be upserted once).
    let mut steps: Vec<&StepResultRecord> = Vec::with_capacity(progress.steps.len());
    for result in progress.steps.iter().rev() {
        if !steps.iter().any(|kept| kept.index == result.index) {
            steps.push(result);
        }
    }
    let Some(event) = progress.status.and_then(run_event_kind) else {
        bind_progress(sqlx::query(PROGRESS), id, &steps, progress)
            .execute(pool)
            .await?;
        return Ok(0);
    };
    // The event's ids carry the run's finish (the engine always gives one).
    let at = progress
        .finished_at
        .or(progress.started_at)
        .unwrap_or(UnixMillis(0));
    let delivery_id = new_delivery_id(at)?;
    let queued: i64 = bind_progress(sqlx::query(ENDING), id, &steps, progress)
        .bind(delivery_id.as_str().to_owned())
        .bind(new_endpoint_id(at)?.as_str().to_owned())
        .bind(new_event_id(at)?.as_str().to_owned())
        .bind(event.as_str())
        .bind(delivery_job_payload(&delivery_id, false)?)
        .bind(DELIVERY_JOB_KIND)
        .bind(DELIVERY_JOB_MAX_ATTEMPTS)
        .bind(progress.completes.as_ref().map(|lease| lease.job.0))
        .bind(
            progress
                .completes
                .as_ref()
                .map(|lease| lease.owner.as_str()),
        )
        .fetch_one(pool)
        .await
        .and_then(|row| sqlx::Row::try_get(&row, 0))?;
    Ok(queued as u64)
}

/// Binds `$1`–`$14`: the run, its step results as arrays, and its columns.
fn bind_progress<'q>(
    query: Query<'q, Postgres, PgArguments>,
    id: RunId,
    steps: &[&StepResultRecord],
    progress: &'q RunProgress,
) -> Query<'q, Postgres, PgArguments> {
    let column =
        |f: fn(&StepResultRecord) -> String| steps.iter().map(|r| f(r)).collect::<Vec<_>>();
    query
        .bind(id.0)
        .bind(steps.iter().map(|r| r.index).collect::<Vec<_>>())
        .bind(column(|r| r.step_id.clone()))
        .bind(column(|r| r.step_type.clone()))
        .bind(column(|r| r.status.as_str().to_owned()))
        .bind(
            steps
                .iter()
                .map(|r| r.output.as_ref().map(json_text))
                .collect::<Vec<_>>(),
        )
        .bind(steps.iter().map(|r| r.error.clone()).collect::<Vec<_>>())
        .bind(steps.iter().map(|r| r.attempts).collect::<Vec<_>>())
        .bind(steps.iter().map(|r| r.started_at.0).collect::<Vec<_>>())
        .bind(steps.iter().map(|r| r.duration_ms).collect::<Vec<_>>())
        .bind(progress.status.map(RunStatus::as_str))
        .bind(progress.started_at.map(|t| t.0))
        .bind(&progress.error)
        .bind(progress.finished_at.map(|t| t.0))
}
