//! Webhook storage on SQLite: the delivery written with a terminal state
//! ([`queue_delivery`], [`queue_run_event`]), attempts, endpoints, signing secrets.

use async_trait::async_trait;
use pilot_domain::webhook::{DeliveryId, DeliveryState, EndpointId, EndpointState};
use pilot_domain::{Environment, NewJob, RunId, UnixMillis, WorkspaceId};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::jobs::insert_job;
use super::row;
use crate::error::StoreResult;
use crate::webhook_rows::{
    AttemptRow, DeliveryRow, DeliveryWorkRow, EndedRun, EndedRunRow, EndpointRow, EndpointStanding,
    EndpointStandingRow, attempt_columns, delivery_columns, endpoint_columns,
};
use crate::webhook_writes::{NewDelivery, plan_attempt};
use crate::webhooks::{
    AttemptOutcome, AttemptRecord, DELIVERY_JOB_KIND, DELIVERY_JOB_MAX_ATTEMPTS, DeliveryJob,
    DeliveryQuery, DeliveryRecord, DeliveryWork, EndpointRecord, RecordedAttempt, WebhookStore,
};

/// Writes `new` (its endpoint created on first use), with its job when the endpoint
/// is enabled; `true` when a job was queued.
pub(super) fn queue_delivery(
    conn: &Connection,
    new: &NewDelivery,
    now: UnixMillis,
) -> StoreResult<bool> {
    let (endpoint_id, state): (String, String) = row::one(
        conn,
        "INSERT INTO webhook_endpoints (id, workspace_id, environment, url, state, created_at, \
         updated_at) VALUES (?1, ?2, ?3, ?4, 'enabled', ?5, ?5) \
         ON CONFLICT (workspace_id, environment, url) \
         DO UPDATE SET updated_at = webhook_endpoints.updated_at \
         RETURNING id, state",
        params![
            new.endpoint_id.as_str(),
            new.workspace_id.0,
            new.environment.as_str(),
            new.url,
            now.0
        ],
    )?;
    let enabled = state == EndpointState::Enabled.as_str();
    row::execute(
        conn,
        "INSERT INTO webhook_deliveries (id, event_id, event, workspace_id, environment, \
         endpoint_id, key_id, payload, event_at, state, next_attempt_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9, ?9)",
        params![
            new.id.as_str(),
            new.event_id.as_str(),
            new.event.as_str(),
            new.workspace_id.0,
            new.environment.as_str(),
            endpoint_id,
            new.key_id.map(|k| k.0),
            new.payload,
            now.0,
            if enabled { "pending" } else { "disabled" },
            enabled.then_some(now.0)
        ],
    )?;
    if enabled {
        insert_job(
            conn,
            &delivery_job(new.id.clone(), false, new.workspace_id, now),
            now,
        )?;
    }
    Ok(enabled)
}

/// The job that makes an attempt of delivery `id` at `run_at`.
fn delivery_job(
    delivery_id: DeliveryId,
    manual: bool,
    workspace_id: WorkspaceId,
    run_at: UnixMillis,
) -> NewJob {
    let payload = serde_json::to_value(DeliveryJob {
        delivery_id,
        manual,
    })
    .expect("a delivery job serializes");
    NewJob::new(DELIVERY_JOB_KIND, payload, run_at)
        .for_workspace(workspace_id)
        .max_attempts(DELIVERY_JOB_MAX_ATTEMPTS)
}

/// A job for each delivery of `ids` (as the table holds them), manual or scheduled.
fn queue_jobs(
    conn: &Connection,
    ids: &[String],
    manual: bool,
    workspace_id: WorkspaceId,
    now: UnixMillis,
) -> StoreResult<()> {
    for raw in ids {
        let delivery_id = DeliveryId::parse(raw)
            .ok_or_else(|| crate::deliberation_rows::corrupt("webhook_deliveries.id", raw))?;
        insert_job(
            conn,
            &delivery_job(delivery_id, manual, workspace_id, now),
            now,
        )?;
    }
    Ok(())
}

/// Run `run` just became terminal: its event goes to its pilot's `notify_url`, if
/// it has one. `true` when a job was queued.
pub(super) fn queue_run_event(conn: &Connection, run: RunId, now: UnixMillis) -> StoreResult<bool> {
    let ended = row::optional::<EndedRunRow>(
        conn,
        "SELECT r.id, r.pilot_id, r.workspace_id, r.environment, r.status, r.started_at, \
                r.finished_at, r.error, p.notify_url \
         FROM runs r JOIN pilots p ON p.id = r.pilot_id \
         WHERE r.id = ?1 AND p.notify_url IS NOT NULL",
        [run.0],
    )?;
    let Some(ended) = ended else {
        return Ok(false);
    };
    match NewDelivery::of_run(&EndedRun::try_from(ended)?, now)? {
        Some(new) => queue_delivery(conn, &new, now),
        None => Ok(false),
    }
}

fn delivery(
    conn: &Connection,
    where_: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<DeliveryRecord>> {
    let sql = format!(
        "SELECT {} FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE {where_}",
        delivery_columns!()
    );
    row::optional::<DeliveryRow>(conn, &sql, params)?
        .map(TryInto::try_into)
        .transpose()
}

fn tenant_delivery(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
    id: &DeliveryId,
) -> StoreResult<Option<DeliveryRecord>> {
    delivery(
        conn,
        "d.id = ?1 AND d.workspace_id = ?2 AND d.environment = ?3",
        params![id.as_str(), workspace_id.0, environment.as_str()],
    )
}

fn tenant_endpoint(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
    id: &EndpointId,
) -> StoreResult<Option<EndpointRecord>> {
    row::optional::<EndpointRow>(
        conn,
        concat!(
            "SELECT ",
            endpoint_columns!(),
            " FROM webhook_endpoints WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3"
        ),
        params![id.as_str(), workspace_id.0, environment.as_str()],
    )?
    .map(TryInto::try_into)
    .transpose()
}

fn record(
    conn: &Connection,
    id: &DeliveryId,
    outcome: &AttemptOutcome,
    now: UnixMillis,
) -> StoreResult<Option<RecordedAttempt>> {
    let standing = row::optional::<EndpointStandingRow>(
        conn,
        "SELECT e.id AS endpoint_id, e.state, e.disabled_reason, e.consecutive_failures \
         FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id \
         WHERE d.id = ?1",
        [id.as_str()],
    )?;
    let Some(standing) = standing else {
        return Ok(None);
    };
    let standing = EndpointStanding::try_from(standing)?;
    let plan = plan_attempt(&standing, outcome);
    let attempt = &outcome.attempt;
    row::execute(
        conn,
        "INSERT INTO webhook_attempts (delivery_id, number, manual, started_at, status, \
         response_excerpt, latency_ms, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.as_str(),
            attempt.number,
            attempt.manual,
            attempt.started_at.0,
            attempt.status,
            attempt.response_excerpt,
            attempt.latency_ms,
            attempt.error
        ],
    )?;
    row::execute(
        conn,
        "UPDATE webhook_endpoints SET state = ?2, disabled_reason = ?3, \
            consecutive_failures = ?4, \
            last_success_at = CASE WHEN ?5 THEN ?6 ELSE last_success_at END, \
            last_failure_at = CASE WHEN ?5 THEN last_failure_at ELSE ?6 END, \
            updated_at = CASE WHEN ?7 THEN ?6 ELSE updated_at END \
         WHERE id = ?1",
        params![
            standing.endpoint_id.as_str(),
            plan.endpoint.state.as_str(),
            plan.endpoint.disabled_reason.map(|r| r.as_str()),
            plan.endpoint.consecutive_failures,
            plan.succeeded,
            now.0,
            plan.endpoint_changed
        ],
    )?;
    let (new_state, new_next) = match plan.delivery {
        Some((state, next)) => (Some(state.as_str()), next.map(|t| t.0)),
        None => (None, None),
    };
    let (state, next): (String, Option<i64>) = row::one(
        conn,
        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
            scheduled_attempts = scheduled_attempts + ?2, last_status = ?3, last_error = ?4, \
            updated_at = ?5, state = COALESCE(?6, state), \
            next_attempt_at = CASE WHEN ?6 IS NULL THEN next_attempt_at ELSE ?7 END \
         WHERE id = ?1 RETURNING state, next_attempt_at",
        params![
            id.as_str(),
            i64::from(plan.scheduled),
            attempt.status,
            attempt.error,
            now.0,
            new_state,
            new_next
        ],
    )?;
    Ok(Some(RecordedAttempt {
        state: crate::deliberation_rows::parsed("webhook_deliveries.state", &state)?,
        next_attempt_at: next.map(UnixMillis),
        endpoint_state: plan.endpoint.state,
    }))
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn load_delivery_work(&self, id: &DeliveryId) -> StoreResult<Option<DeliveryWork>> {
        let id = id.clone();
        self.readers
            .read(move |conn| {
                let sql = format!(
                    "SELECT {}, e.state AS endpoint_state, \
                        CASE WHEN d.key_id IS NOT NULL \
                            THEN (SELECT webhook_secret_sealed FROM api_keys WHERE id = d.key_id) \
                            ELSE (SELECT sealed FROM webhook_signing_secrets s \
                                  WHERE s.workspace_id = d.workspace_id \
                                    AND s.environment = d.environment) END AS sealed_secret \
                     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE d.id = ?1",
                    delivery_columns!()
                );
                row::optional::<DeliveryWorkRow>(conn, &sql, [id.as_str()])?
                    .map(TryInto::try_into)
                    .transpose()
            })
            .await
    }

    async fn record_attempt(
        &self,
        id: &DeliveryId,
        outcome: &AttemptOutcome,
        now: UnixMillis,
    ) -> StoreResult<Option<RecordedAttempt>> {
        let (id, outcome) = (id.clone(), outcome.clone());
        self.writer
            .write(move |conn| record(conn, &id, &outcome, now))
            .await
    }

    async fn hold_delivery(&self, id: &DeliveryId, now: UnixMillis) -> StoreResult<bool> {
        let id = id.clone();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE webhook_deliveries SET state = 'disabled', next_attempt_at = NULL, \
                        updated_at = ?2 \
                     WHERE id = ?1 AND state = 'pending' AND EXISTS (SELECT 1 \
                        FROM webhook_endpoints e WHERE e.id = endpoint_id \
                          AND e.state = 'disabled')",
                    params![id.as_str(), now.0],
                )
                .map(|n| n > 0)
            })
            .await
    }

    async fn list_deliveries(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let query = query.clone();
        self.readers
            .read(move |conn| {
                let sql = format!(
                    "SELECT {} FROM webhook_deliveries d \
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE d.workspace_id = ?1 AND d.environment = ?2 \
                       AND (?3 IS NULL OR d.state = ?3) AND (?4 IS NULL OR d.endpoint_id = ?4) \
                       AND (?5 IS NULL OR d.id < ?5) \
                     ORDER BY d.id DESC LIMIT ?6",
                    delivery_columns!()
                );
                row::all::<DeliveryRow>(
                    conn,
                    &sql,
                    params![
                        workspace_id.0,
                        environment.as_str(),
                        query.state.map(DeliveryState::as_str),
                        query.endpoint_id.as_ref().map(EndpointId::as_str),
                        query.before.as_ref().map(DeliveryId::as_str),
                        query.limit.clamp(1, 100)
                    ],
                )?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            })
            .await
    }

    async fn get_delivery(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliveryId,
    ) -> StoreResult<Option<(DeliveryRecord, Vec<AttemptRecord>)>> {
        let id = id.clone();
        self.readers
            .read(move |conn| {
                let Some(found) = tenant_delivery(conn, workspace_id, environment, &id)? else {
                    return Ok(None);
                };
                let attempts = row::all::<AttemptRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        attempt_columns!(),
                        " FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY id"
                    ),
                    [id.as_str()],
                )?;
                Ok(Some((
                    found,
                    attempts.into_iter().map(Into::into).collect(),
                )))
            })
            .await
    }

    async fn replay_delivery(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliveryId,
        now: UnixMillis,
    ) -> StoreResult<Option<DeliveryRecord>> {
        let id = id.clone();
        let found = self
            .writer
            .write(move |conn| {
                let found = tenant_delivery(conn, workspace_id, environment, &id)?;
                if found.is_some() {
                    insert_job(conn, &delivery_job(id, true, workspace_id, now), now)?;
                }
                Ok(found)
            })
            .await?;
        if found.is_some() {
            self.job_notify.notify_waiters();
        }
        Ok(found)
    }

    async fn recover_endpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &EndpointId,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<Option<u64>> {
        let id = id.clone();
        let queued = self
            .writer
            .write(move |conn| {
                if tenant_endpoint(conn, workspace_id, environment, &id)?.is_none() {
                    return Ok(None);
                }
                let mut statement = conn.prepare_cached(
                    "SELECT id FROM webhook_deliveries WHERE endpoint_id = ?1 \
                     AND state IN ('dead', 'failed') AND created_at >= ?2 ORDER BY id",
                )?;
                let ids: Vec<String> = statement
                    .query_map(params![id.as_str(), since.0], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                queue_jobs(conn, &ids, true, workspace_id, now)?;
                Ok(Some(ids.len() as u64))
            })
            .await?;
        if queued.is_some_and(|n| n > 0) {
            self.job_notify.notify_waiters();
        }
        Ok(queued)
    }

    async fn list_endpoints(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<EndpointRecord>> {
        self.readers
            .read(move |conn| {
                row::all::<EndpointRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        endpoint_columns!(),
                        " FROM webhook_endpoints WHERE workspace_id = ?1 AND environment = ?2 \
                         ORDER BY created_at, id"
                    ),
                    params![workspace_id.0, environment.as_str()],
                )?
                .into_iter()
                .map(TryInto::try_into)
                .collect()
            })
            .await
    }

    async fn enable_endpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &EndpointId,
        now: UnixMillis,
    ) -> StoreResult<Option<(EndpointRecord, u64)>> {
        let id = id.clone();
        let enabled = self
            .writer
            .write(move |conn| {
                if tenant_endpoint(conn, workspace_id, environment, &id)?.is_none() {
                    return Ok(None);
                }
                row::execute(
                    conn,
                    "UPDATE webhook_endpoints SET state = 'enabled', disabled_reason = NULL, \
                        consecutive_failures = 0, updated_at = ?2 WHERE id = ?1",
                    params![id.as_str(), now.0],
                )?;
                let mut statement = conn.prepare_cached(
                    "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?2, \
                        updated_at = ?2 WHERE endpoint_id = ?1 AND state = 'disabled' \
                     RETURNING id",
                )?;
                let ids: Vec<String> = statement
                    .query_map(params![id.as_str(), now.0], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                drop(statement);
                queue_jobs(conn, &ids, false, workspace_id, now)?;
                let endpoint = tenant_endpoint(conn, workspace_id, environment, &id)?
                    .expect("the endpoint was just read in this transaction");
                Ok(Some((endpoint, ids.len() as u64)))
            })
            .await?;
        if enabled.as_ref().is_some_and(|(_, n)| *n > 0) {
            self.job_notify.notify_waiters();
        }
        Ok(enabled)
    }

    async fn ensure_signing_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        candidate_sealed: &str,
        now: UnixMillis,
    ) -> StoreResult<String> {
        let candidate = candidate_sealed.to_owned();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO webhook_signing_secrets (workspace_id, environment, sealed, \
                     created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![workspace_id.0, environment.as_str(), candidate, now.0],
                )?;
                row::scalar(
                    conn,
                    "SELECT sealed FROM webhook_signing_secrets \
                     WHERE workspace_id = ?1 AND environment = ?2",
                    params![workspace_id.0, environment.as_str()],
                )
            })
            .await
    }

    async fn rotate_signing_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        sealed: &str,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let sealed = sealed.to_owned();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO webhook_signing_secrets (workspace_id, environment, sealed, \
                     created_at) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (workspace_id, environment) \
                     DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at",
                    params![workspace_id.0, environment.as_str(), sealed, now.0],
                )
                .map(drop)
            })
            .await
    }

    async fn purge_attempts(&self, before: UnixMillis) -> StoreResult<u64> {
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM webhook_attempts WHERE started_at < ?1",
                    [before.0],
                )
                .map(|n| n as u64)
            })
            .await
    }
}
