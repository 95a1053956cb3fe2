//! Deliveries written with the terminal states they report, on PostgreSQL: a
//! deliberation's end (`deliberations.rs`), a run's terminal progress (`runs.rs`, in
//! its own statement) and the runs buried jobs end (`requeue.rs`, `processes.rs`).
//!
//! Each goes through [`deliver_events!`]: the endpoint is upserted (a no-op update,
//! so `RETURNING` yields it and locks it against a concurrent enable or disable),
//! the delivery is inserted `pending` with its job if the endpoint is enabled, else
//! `disabled` without one. The jobs' insert trigger sends `NOTIFY`; callers wake
//! this process's workers after commit.

use pilot_domain::UnixMillis;
use sqlx::PgConnection;

use crate::error::StoreResult;
use crate::pilot_rows::json_column;
use crate::webhook_rows::{EndedRun, EndedRunRow};
use crate::webhook_writes::NewDelivery;
use crate::webhooks::{DELIVERY_JOB_KIND, DELIVERY_JOB_MAX_ATTEMPTS};

/// The CTEs `endpoint`, `delivery` and `job` writing the deliveries of an `events`
/// CTE with columns `id, endpoint_id, event_id, event, workspace_id, environment,
/// url, key_id, payload, job_payload, at` (`at`: the event's instant, which stamps
/// everything written). `kind` and `max` name the parameters holding the job kind
/// and its attempts; `job` returns one row per job.
macro_rules! deliver_events {
    (kind = $kind:literal, max = $max:literal) => {
        concat!(
            "endpoint AS ( \
                INSERT INTO webhook_endpoints (id, workspace_id, environment, url, state, \
                    created_at, updated_at) \
                SELECT DISTINCT ON (workspace_id, environment, url) endpoint_id, workspace_id, \
                    environment, url, 'enabled', at, at \
                FROM events \
                ON CONFLICT (workspace_id, environment, url) \
                    DO UPDATE SET updated_at = webhook_endpoints.updated_at \
                RETURNING id, workspace_id, environment, url, state \
             ), delivery AS ( \
                INSERT INTO webhook_deliveries (id, event_id, event, workspace_id, environment, \
                    endpoint_id, key_id, payload, event_at, state, next_attempt_at, \
                    created_at, updated_at) \
                SELECT v.id, v.event_id, v.event, v.workspace_id, v.environment, w.id, \
                    v.key_id, v.payload, v.at, \
                    CASE WHEN w.state = 'enabled' THEN 'pending' ELSE 'disabled' END, \
                    CASE WHEN w.state = 'enabled' THEN v.at END, v.at, v.at \
                FROM events v JOIN endpoint w ON w.workspace_id = v.workspace_id \
                    AND w.environment = v.environment AND w.url = v.url \
                RETURNING id, workspace_id, state \
             ), job AS ( \
                INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, \
                    created_at, updated_at) \
                SELECT ",
            $kind,
            "::text, v.job_payload::jsonb, d.workspace_id, v.at, ",
            $max,
            "::int, v.at, v.at \
                FROM delivery d JOIN events v ON v.id = d.id WHERE d.state = 'pending' \
                RETURNING id \
             )"
        )
    };
}
pub(super) use deliver_events;

/// A run's `data` as JSON text, built from the columns of the row `$run` names
/// (`id, pilot_id, status, started_at, finished_at, error`): field for field
/// `pilot_domain::webhook::RunEventData` (`row_to_json` keeps the order and writes
/// no spaces), as `webhook_writes::run_event_data` builds it in Rust.
macro_rules! run_event_payload {
    ($run:literal) => {
        concat!(
            "(SELECT row_to_json(d)::text FROM (SELECT ",
            $run,
            ".id AS \"runId\", ",
            $run,
            ".pilot_id AS \"pilotId\", ",
            $run,
            ".status AS status, ",
            $run,
            ".finished_at - ",
            $run,
            ".started_at AS \"durationMs\", ",
            $run,
            ".error AS error, floor(",
            $run,
            ".finished_at / 1000.0)::bigint AS \"finishedAt\") d)"
        )
    };
}
pub(super) use run_event_payload;

/// A select-list expression: the runs a `followed` CTE (`requeue::followed!`) ended
/// `failed` whose pilot has a notify URL, as a JSON array of [`EndedRunRow`]s, for
/// [`deliver_ended_runs`].
macro_rules! ended_runs {
    () => {
        "(SELECT COALESCE(json_agg(e), '[]')::text FROM ( \
            SELECT f.id, f.pilot_id, f.workspace_id, f.environment, f.status, f.started_at, \
                   f.finished_at, f.error, p.notify_url \
            FROM followed f JOIN pilots p ON p.id = f.pilot_id \
            WHERE f.status = 'failed' AND p.notify_url IS NOT NULL) e)"
    };
}
pub(super) use ended_runs;

/// Writes `deliveries` on `conn` (inside the transaction of the state they report)
/// in one statement; returns how many jobs it queued.
pub(super) async fn enqueue_deliveries(
    conn: &mut PgConnection,
    deliveries: &[NewDelivery],
    now: UnixMillis,
) -> StoreResult<u64> {
    if deliveries.is_empty() {
        return Ok(0);
    }
    let column = |f: fn(&NewDelivery) -> String| deliveries.iter().map(f).collect::<Vec<_>>();
    let job_payloads = deliveries
        .iter()
        .map(NewDelivery::job_payload)
        .collect::<StoreResult<Vec<_>>>()?;
    let jobs: i64 = sqlx::query_scalar(concat!(
        "WITH events AS ( \
            SELECT i.*, $11::bigint AS at FROM UNNEST($1::text[], $2::text[], $3::text[], \
                $4::text[], $5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::text[], \
                $10::text[]) AS i(id, endpoint_id, event_id, event, workspace_id, environment, \
                url, key_id, payload, job_payload) \
         ), ",
        deliver_events!(kind = "$12", max = "$13"),
        " SELECT COUNT(*) FROM job"
    ))
    .bind(column(|d| d.id.as_str().to_owned()))
    .bind(column(|d| d.endpoint_id.as_str().to_owned()))
    .bind(column(|d| d.event_id.as_str().to_owned()))
    .bind(column(|d| d.event.as_str().to_owned()))
    .bind(
        deliveries
            .iter()
            .map(|d| d.workspace_id.0)
            .collect::<Vec<_>>(),
    )
    .bind(column(|d| d.environment.as_str().to_owned()))
    .bind(column(|d| d.url.clone()))
    .bind(
        deliveries
            .iter()
            .map(|d| d.key_id.map(|k| k.0))
            .collect::<Vec<_>>(),
    )
    .bind(column(|d| d.payload.clone()))
    .bind(job_payloads)
    .bind(now.0)
    .bind(DELIVERY_JOB_KIND)
    .bind(DELIVERY_JOB_MAX_ATTEMPTS)
    .fetch_one(conn)
    .await?;
    Ok(jobs as u64)
}

/// Writes the `run.failed` deliveries of the runs a requeue statement's
/// [`ended_runs!`] column listed (`json`), on `conn`, inside that statement's
/// transaction; returns how many jobs it queued.
pub(super) async fn deliver_ended_runs(
    conn: &mut PgConnection,
    json: &str,
    now: UnixMillis,
) -> StoreResult<u64> {
    let rows: Vec<EndedRunRow> = json_column("runs", json)?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for row in rows {
        let run = EndedRun::try_from(row)?;
        deliveries.extend(NewDelivery::of_run(&run, now)?);
    }
    enqueue_deliveries(conn, &deliveries, now).await
}
