use async_trait::async_trait;
use pilot_domain::webhook::{DeliveryId, EndpointId};
use pilot_domain::{Environment, UnixMillis, WorkspaceId};
use sqlx::{FromRow, Row};

use super::PostgresStore;
use crate::deliberation_rows::corrupt;
use crate::error::StoreResult;
use crate::pilot_rows::json_column;
use crate::webhook_rows::{
    AttemptRow, DeliveryRow, DeliveryWorkRow, EndpointRow, EndpointStanding, EndpointStandingRow,
    attempt_columns, deliveries_joined, delivery_columns, endpoint_columns,
};
use crate::webhook_writes::{delivery_job_payload, plan_attempt};
use crate::webhooks::{
    AttemptOutcome, AttemptRecord, DELIVERY_JOB_KIND, DELIVERY_JOB_MAX_ATTEMPTS, DeliveryQuery,
    DeliveryRecord, DeliveryWork, EndpointRecord, RecordedAttempt, WebhookStore,
};

/// Most deliveries one listing answers.
const MAX_PAGE: u32 = 100;

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn load_delivery_work(&self, id: &DeliveryId) -> StoreResult<Option<DeliveryWork>> {
        // The key's secret when a key submitted the event (revoked or not), else the
        // tenant's signing secret.
        let row = sqlx::query_as::<_, DeliveryWorkRow>(concat!(
            "SELECT ",
            delivery_columns!(),
            ", e.state AS endpoint_state, \
               CASE WHEN d.key_id IS NULL THEN \
                    (SELECT s.sealed FROM webhook_signing_secrets s \
                     WHERE s.workspace_id = d.workspace_id AND s.environment = d.environment) \
               ELSE (SELECT k.webhook_secret_sealed FROM api_keys k \
                     WHERE k.id = d.key_id AND k.workspace_id = d.workspace_id \
                       AND k.environment = d.environment) \
               END AS sealed_secret \
             FROM ",
            deliveries_joined!(),
            " WHERE d.id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn record_attempt(
        &self,
        id: &DeliveryId,
        outcome: &AttemptOutcome,
        now: UnixMillis,
    ) -> StoreResult<Option<RecordedAttempt>> {
        let mut tx = self.pool.begin().await?;
        // The endpoint is locked first, as every writer of an endpoint's deliveries
        // does, and its failures are counted from what this lock sees.
        let standing = sqlx::query_as::<_, EndpointStandingRow>(
            "SELECT e.id AS endpoint_id, e.state, e.disabled_reason, e.consecutive_failures \
             FROM webhook_endpoints e JOIN webhook_deliveries d ON d.endpoint_id = e.id \
             WHERE d.id = $1 FOR UPDATE OF e",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(standing) = standing else {
            return Ok(None);
        };
        let standing = EndpointStanding::try_from(standing)?;
        let plan = plan_attempt(&standing, outcome);
        let attempt = &outcome.attempt;
        // `None`: the delivery's state and next attempt stay as they are.
        let (new_state, new_next) = match plan.delivery {
            Some((state, next)) => (Some(state.as_str()), next.map(|t| t.0)),
            None => (None, None),
        };
        let (state, next_attempt_at): (String, Option<i64>) = sqlx::query_as(
            "WITH attempt AS ( \
                INSERT INTO webhook_attempts (delivery_id, number, manual, started_at, status, \
                    response_excerpt, latency_ms, error) \
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ), endpoint AS ( \
                UPDATE webhook_endpoints SET state = $9, disabled_reason = $10, \
                    consecutive_failures = $11, \
                    last_success_at = CASE WHEN $12::boolean THEN $13::bigint \
                                           ELSE last_success_at END, \
                    last_failure_at = CASE WHEN $12::boolean THEN last_failure_at \
                                           ELSE $13::bigint END, \
                    updated_at = CASE WHEN $14::boolean THEN $13::bigint ELSE updated_at END \
                WHERE id = $15 \
             ) \
             UPDATE webhook_deliveries SET attempts = attempts + 1, \
                scheduled_attempts = scheduled_attempts + $16, last_status = $5, \
                last_error = $8, updated_at = $13, state = COALESCE($17::text, state), \
                next_attempt_at = CASE WHEN $17::text IS NULL THEN next_attempt_at \
                                       ELSE $18::bigint END \
             WHERE id = $1 RETURNING state, next_attempt_at",
        )
        .bind(id.as_str())
        .bind(attempt.number)
        .bind(attempt.manual)
        .bind(attempt.started_at.0)
        .bind(attempt.status)
        .bind(&attempt.response_excerpt)
        .bind(attempt.latency_ms)
        .bind(&attempt.error)
        .bind(plan.endpoint.state.as_str())
        .bind(plan.endpoint.disabled_reason.map(|r| r.as_str()))
        .bind(plan.endpoint.consecutive_failures)
        .bind(plan.succeeded)
        .bind(now.0)
        .bind(plan.endpoint_changed)
        .bind(standing.endpoint_id.as_str())
        .bind(i64::from(plan.scheduled))
        .bind(new_state)
        .bind(new_next)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(RecordedAttempt {
            state: state
                .parse()
                .map_err(|e| corrupt("webhook_deliveries.state", e))?,
            next_attempt_at: next_attempt_at.map(UnixMillis),
            endpoint_state: plan.endpoint.state,
        }))
    }

    async fn hold_delivery(&self, id: &DeliveryId, now: UnixMillis) -> StoreResult<bool> {
        // The endpoint's row is share-locked, so an enable committing meanwhile is
        // either seen (nothing held) or waits and then releases this delivery.
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'disabled', next_attempt_at = NULL, \
                updated_at = $2 \
             WHERE id = $1 AND state = 'pending' AND EXISTS ( \
                SELECT 1 FROM webhook_endpoints e \
                WHERE e.id = webhook_deliveries.endpoint_id AND e.state = 'disabled' \
                FOR SHARE)",
        )
        .bind(id.as_str())
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn list_deliveries(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query_as::<_, DeliveryRow>(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM ",
            deliveries_joined!(),
            " WHERE d.workspace_id = $1 AND d.environment = $2 \
                AND ($3::text IS NULL OR d.state = $3) \
                AND ($4::text IS NULL OR d.endpoint_id = $4) \
                AND ($5::text IS NULL OR d.id < $5) \
              ORDER BY d.id DESC LIMIT $6"
        ))
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(query.state.map(|s| s.as_str()))
        .bind(query.endpoint_id.as_ref().map(EndpointId::as_str))
        .bind(query.before.as_ref().map(DeliveryId::as_str))
        .bind(i64::from(query.limit.clamp(1, MAX_PAGE)))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn get_delivery(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliveryId,
    ) -> StoreResult<Option<(DeliveryRecord, Vec<AttemptRecord>)>> {
        // One statement: the attempts ride along as JSON.
        let row = sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            ", (SELECT COALESCE(json_agg(a ORDER BY a.id), '[]')::text FROM ( \
                  SELECT id, ",
            attempt_columns!(),
            " FROM webhook_attempts WHERE delivery_id = d.id) a) AS attempt_rows \
             FROM ",
            deliveries_joined!(),
            " WHERE d.id = $1 AND d.workspace_id = $2 AND d.environment = $3"
        ))
        .bind(id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts: String = row.try_get("attempt_rows")?;
        let attempts: Vec<AttemptRow> = json_column("webhook_attempts", &attempts)?;
        Ok(Some((
            DeliveryRow::from_row(&row)?.try_into()?,
            attempts.into_iter().map(Into::into).collect(),
        )))
    }

    async fn replay_delivery(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliveryId,
        now: UnixMillis,
    ) -> StoreResult<Option<DeliveryRecord>> {
        let row = sqlx::query_as::<_, DeliveryRow>(concat!(
            "WITH found AS (SELECT ",
            delivery_columns!(),
            " FROM ",
            deliveries_joined!(),
            " WHERE d.id = $1 AND d.workspace_id = $2 AND d.environment = $3 \
             ), job AS ( \
                INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, \
                    created_at, updated_at) \
                SELECT $4, $5::jsonb, workspace_id, $6, $7, $6, $6 FROM found \
             ) SELECT * FROM found"
        ))
        .bind(id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(DELIVERY_JOB_KIND)
        .bind(delivery_job_payload(id, true)?)
        .bind(now.0)
        .bind(DELIVERY_JOB_MAX_ATTEMPTS)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        self.wake_workers();
        Ok(Some(row.try_into()?))
    }

    async fn recover_endpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &EndpointId,
        since: UnixMillis,
        now: UnixMillis,
    ) -> StoreResult<Option<u64>> {
        let (endpoints, queued): (i64, i64) = sqlx::query_as(
            "WITH endpoint AS ( \
                SELECT id FROM webhook_endpoints \
                WHERE id = $1 AND workspace_id = $2 AND environment = $3 \
             ), job AS ( \
                INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, \
                    created_at, updated_at) \
                SELECT $4, jsonb_build_object('delivery_id', d.id, 'manual', true), \
                    d.workspace_id, $5, $6, $5, $5 \
                FROM webhook_deliveries d JOIN endpoint ON d.endpoint_id = endpoint.id \
                WHERE d.workspace_id = $2 AND d.environment = $3 \
                  AND d.state IN ('dead', 'failed') AND d.created_at >= $7 \
                RETURNING id \
             ) SELECT (SELECT COUNT(*) FROM endpoint), (SELECT COUNT(*) FROM job)",
        )
        .bind(id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(DELIVERY_JOB_KIND)
        .bind(now.0)
        .bind(DELIVERY_JOB_MAX_ATTEMPTS)
        .bind(since.0)
        .fetch_one(&self.pool)
        .await?;
        if endpoints == 0 {
            return Ok(None);
        }
        if queued > 0 {
            self.wake_workers();
        }
        Ok(Some(queued as u64))
    }

    async fn list_endpoints(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<EndpointRecord>> {
        let rows = sqlx::query_as::<_, EndpointRow>(concat!(
            "SELECT ",
            endpoint_columns!(),
            " FROM webhook_endpoints WHERE workspace_id = $1 AND environment = $2 \
              ORDER BY created_at, id"
        ))
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn enable_endpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &EndpointId,
        now: UnixMillis,
    ) -> StoreResult<Option<(EndpointRecord, u64)>> {
        let mut tx = self.pool.begin().await?;
        let endpoint = sqlx::query_as::<_, EndpointRow>(concat!(
            "UPDATE webhook_endpoints SET state = 'enabled', disabled_reason = NULL, \
                consecutive_failures = 0, updated_at = $4 \
             WHERE id = $1 AND workspace_id = $2 AND environment = $3 RETURNING ",
            endpoint_columns!()
        ))
        .bind(id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(endpoint) = endpoint else {
            return Ok(None);
        };
        // A second statement, so it sees every delivery committed `disabled` while
        // this transaction waited for the endpoint's lock.
        let released: i64 = sqlx::query_scalar(
            "WITH released AS ( \
                UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $4, \
                    updated_at = $4 \
                WHERE endpoint_id = $1 AND workspace_id = $2 AND environment = $3 \
                  AND state = 'disabled' \
                RETURNING id, workspace_id \
             ), job AS ( \
                INSERT INTO jobs (kind, payload, workspace_id, run_at, max_attempts, \
                    created_at, updated_at) \
                SELECT $5, jsonb_build_object('delivery_id', id, 'manual', false), \
                    workspace_id, $4, $6, $4, $4 \
                FROM released \
             ) SELECT COUNT(*) FROM released",
        )
        .bind(id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(now.0)
        .bind(DELIVERY_JOB_KIND)
        .bind(DELIVERY_JOB_MAX_ATTEMPTS)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if released > 0 {
            self.wake_workers();
        }
        Ok(Some((endpoint.try_into()?, released as u64)))
    }

    async fn ensure_signing_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        candidate_sealed: &str,
        now: UnixMillis,
    ) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO webhook_signing_secrets (workspace_id, environment, sealed, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, environment) DO NOTHING",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(candidate_sealed)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        // A statement of its own, so it sees a secret another caller stored first.
        let sealed = sqlx::query_scalar(
            "SELECT sealed FROM webhook_signing_secrets \
             WHERE workspace_id = $1 AND environment = $2",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(sealed)
    }

    async fn rotate_signing_secret(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        sealed: &str,
        now: UnixMillis,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhook_signing_secrets (workspace_id, environment, sealed, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, environment) \
             DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at",
        )
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(sealed)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_attempts(&self, before: UnixMillis) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM webhook_attempts WHERE started_at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
