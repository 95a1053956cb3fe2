//! Webhook storage on SQLite: the delivery written with a terminal state
//! ([`queue_delivery`], [`queue_run_event`]), attempts, endpoints, signing secrets.

use async_trait::async_trait;
use pilot_domain::webhook::{
    AUTO_DISABLE_AFTER, DeliveryId, DeliveryState, EndpointId, EndpointState, Verdict,
};
use pilot_domain::{ApiKeyId, Environment, NewJob, UnixMillis, WorkspaceId};
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use super::jobs::insert_job;
use super::row;
use crate::error::StoreResult;
use crate::webhook_rows::{
    AttemptRow, DeliveryRow, DeliveryWorkRow, EndpointRow, attempt_columns, delivery_columns,
    endpoint_columns, new_delivery_id, new_endpoint_id, new_event_id, run_event_payload,
};
use crate::webhooks::{
    AttemptOutcome, AttemptRecord, DELIVERY_JOB_KIND, DELIVERY_JOB_MAX_ATTEMPTS, DeliveryJob,
    DeliveryQuery, DeliveryRecord, DeliveryWork, EndpointRecord, RecordedAttempt, WebhookStore,
};

/// An event to deliver, as the terminal write knows it.
pub(super) struct NewDelivery<'a> {
    pub workspace_id: WorkspaceId,
    pub environment: Environment,
    pub url: &'a str,
    pub event_id: &'a str,
    pub event: &'a str,
    pub key_id: Option<ApiKeyId>,
    pub payload: &'a str,
}

/// Writes a delivery of `new` (its endpoint created on first use), with its job when
/// the endpoint is enabled; `true` when a job was queued.
pub(super) fn queue_delivery(
    conn: &Connection,
    new: &NewDelivery<'_>,
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
            new_endpoint_id(now).as_str(),
            new.workspace_id.0,
            new.environment.as_str(),
            new.url,
            now.0
        ],
    )?;
    let enabled = state == EndpointState::Enabled.as_str();
    let id = new_delivery_id(now);
    row::execute(
        conn,
        "INSERT INTO webhook_deliveries (id, event_id, event, workspace_id, environment, \
         endpoint_id, key_id, payload, event_at, state, next_attempt_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9, ?9)",
        params![
            id.as_str(),
            new.event_id,
            new.event,
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
        insert_job(conn, &delivery_job(id, false, new.workspace_id, now), now)?;
    }
    Ok(enabled)
}

/// The job that makes an attempt of delivery `id` at `run_at`.
pub(crate) fn delivery_job(
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

/// Run `run_id` just became terminal: its event goes to its pilot's `notify_url`, if
/// it has one. `true` when a job was queued.
pub(super) fn queue_run_event(
    conn: &Connection,
    run_id: i64,
    now: UnixMillis,
) -> StoreResult<bool> {
    type Ended = (
        i64,
        i64,
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        String,
    );
    let ended: Option<Ended> = conn
        .query_row(
            "SELECT r.pilot_id, r.workspace_id, r.environment, r.status, r.started_at, \
                    r.finished_at, r.error, p.notify_url \
             FROM runs r JOIN pilots p ON p.id = r.pilot_id \
             WHERE r.id = ?1 AND p.notify_url IS NOT NULL",
            [run_id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .optional()?;
    let Some((pilot_id, workspace_id, environment, status, started, finished, error, url)) = ended
    else {
        return Ok(false);
    };
    let event = if status == "failed" {
        "run.failed"
    } else {
        "run.completed"
    };
    let payload = run_event_payload(run_id, pilot_id, &status, started, finished, error);
    queue_delivery(
        conn,
        &NewDelivery {
            workspace_id: WorkspaceId(workspace_id),
            environment: crate::deliberation_rows::parsed("runs.environment", &environment)?,
            url: &url,
            event_id: new_event_id(now).as_str(),
            event,
            key_id: None,
            payload: &payload,
        },
        now,
    )
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
    let Some(current) = delivery(conn, "d.id = ?1", [id.as_str()])? else {
        return Ok(None);
    };
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
    let succeeded = outcome.verdict == Verdict::Succeeded;
    let endpoint_state: String = if succeeded {
        row::scalar(
            conn,
            "UPDATE webhook_endpoints SET consecutive_failures = 0, last_success_at = ?2, \
             updated_at = ?2 WHERE id = ?1 RETURNING state",
            params![current.endpoint_id.as_str(), now.0],
        )?
    } else {
        row::scalar(
            conn,
            "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, \
                last_failure_at = ?2, updated_at = ?2, \
                disabled_reason = CASE \
                    WHEN state = 'disabled' THEN disabled_reason \
                    WHEN ?3 THEN 'gone' \
                    WHEN consecutive_failures + 1 >= ?4 THEN 'consecutive_failures' END, \
                state = CASE WHEN ?3 OR consecutive_failures + 1 >= ?4 THEN 'disabled' \
                    ELSE state END \
             WHERE id = ?1 RETURNING state",
            params![
                current.endpoint_id.as_str(),
                now.0,
                outcome.verdict == Verdict::Gone,
                AUTO_DISABLE_AFTER
            ],
        )?
    };
    let endpoint_state: EndpointState = endpoint_state
        .parse()
        .map_err(crate::error::StoreError::Corrupt)?;
    let (state, next) = next_state(&current, outcome, endpoint_state);
    row::execute(
        conn,
        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
            scheduled_attempts = scheduled_attempts + ?2, last_status = ?3, last_error = ?4, \
            state = ?5, next_attempt_at = ?6, updated_at = ?7 WHERE id = ?1",
        params![
            id.as_str(),
            i64::from(!attempt.manual),
            attempt.status,
            attempt.error,
            state.as_str(),
            next.map(|t| t.0),
            now.0
        ],
    )?;
    Ok(Some(RecordedAttempt {
        state,
        next_attempt_at: next,
        endpoint_state,
    }))
}

/// What an attempt's outcome makes of its delivery (the trait's docs).
pub(crate) fn next_state(
    current: &DeliveryRecord,
    outcome: &AttemptOutcome,
    endpoint: EndpointState,
) -> (DeliveryState, Option<UnixMillis>) {
    match outcome.verdict {
        Verdict::Succeeded => (DeliveryState::Succeeded, None),
        _ if outcome.attempt.manual => (current.state, current.next_attempt_at),
        Verdict::Retry => match outcome.retry_at {
            Some(_) if endpoint == EndpointState::Disabled => (DeliveryState::Disabled, None),
            Some(at) => (DeliveryState::Pending, Some(at)),
            None => (DeliveryState::Dead, None),
        },
        Verdict::Fail | Verdict::Gone => (DeliveryState::Failed, None),
    }
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
                for raw in &ids {
                    let delivery_id = DeliveryId::parse(raw).ok_or_else(|| {
                        crate::deliberation_rows::corrupt("webhook_deliveries.id", raw)
                    })?;
                    insert_job(
                        conn,
                        &delivery_job(delivery_id, true, workspace_id, now),
                        now,
                    )?;
                }
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
                for raw in &ids {
                    let delivery_id = DeliveryId::parse(raw).ok_or_else(|| {
                        crate::deliberation_rows::corrupt("webhook_deliveries.id", raw)
                    })?;
                    insert_job(
                        conn,
                        &delivery_job(delivery_id, false, workspace_id, now),
                        now,
                    )?;
                }
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
