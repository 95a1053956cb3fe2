use async_trait::async_trait;
use pilot_domain::{CatchUp, Environment, FiredBy, PilotId, UnixMillis, WorkspaceId};
use serde_json::Value;
use sqlx::PgPool;

use super::PostgresStore;
use super::runs::queue_run_of_pilot;
use crate::error::StoreResult;
use crate::pilot_rows::{PilotRow, json_text, pilot_columns, trigger_type_of};
use crate::pilots::{NewPilot, PilotPatch, PilotRecord, PilotStore, PilotTrigger, RunRecord};

/// The pilot that a unique trigger column (`sql` compares it with `$1`) names.
async fn pilot_by_key(
    pool: &PgPool,
    sql: &'static str,
    key: &str,
) -> StoreResult<Option<PilotRecord>> {
    let row = sqlx::query_as::<_, PilotRow>(sql)
        .bind(key)
        .fetch_optional(pool)
        .await?;
    row.map(TryInto::try_into).transpose()
}

#[async_trait]
impl PilotStore for PostgresStore {
    async fn create_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot: &NewPilot,
        now: UnixMillis,
    ) -> StoreResult<PilotRecord> {
        let trigger = &pilot.trigger;
        sqlx::query_as::<_, PilotRow>(concat!(
            "INSERT INTO pilots (workspace_id, environment, title, description, status, \
             trigger_type, steps, schedule_cron, schedule_timezone, next_fire_at, \
             webhook_token_digest, webhook_token_sealed, email_address, created_at, updated_at, \
             steps_key_id, notify_url, schedule_catch_up, webhook_verification) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, \
                     $17, $18) \
             RETURNING ",
            pilot_columns!()
        ))
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(&pilot.title)
        .bind(&pilot.description)
        .bind(pilot.status.as_str())
        .bind(trigger_type_of(trigger))
        .bind(json_text(&pilot.steps))
        .bind(&trigger.schedule_cron)
        .bind(&trigger.schedule_timezone)
        .bind(trigger.next_fire_at.map(|t| t.0))
        .bind(&trigger.webhook_token_digest)
        .bind(&trigger.webhook_token_sealed)
        .bind(&trigger.email_address)
        .bind(now.0)
        .bind(pilot.steps_key_id.map(|k| k.0))
        .bind(&pilot.notify_url)
        .bind(trigger.schedule_catch_up.map(CatchUp::as_str))
        .bind(&pilot.webhook_verification)
        .fetch_one(&self.pool)
        .await?
        .try_into()
    }

    async fn list_pilots(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<PilotRecord>> {
        let rows = sqlx::query_as::<_, PilotRow>(concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE workspace_id = $1 AND environment = $2 ORDER BY id DESC"
        ))
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn get_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
    ) -> StoreResult<Option<PilotRecord>> {
        let row = sqlx::query_as::<_, PilotRow>(concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE id = $1 AND workspace_id = $2 AND environment = $3"
        ))
        .bind(id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn update_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
        patch: &PilotPatch,
        now: UnixMillis,
    ) -> StoreResult<Option<PilotRecord>> {
        // One statement: `$5` says whether the trigger columns are replaced at all,
        // `$18` whether the notify URL is.
        let unchanged = PilotTrigger::default();
        let trigger = patch.trigger.as_ref().unwrap_or(&unchanged);
        let row = sqlx::query_as::<_, PilotRow>(concat!(
            "UPDATE pilots SET title = COALESCE($1, title), \
             description = COALESCE($2, description), status = COALESCE($3, status), \
             steps = COALESCE($4, steps), \
             steps_key_id = CASE WHEN $4::text IS NULL THEN steps_key_id ELSE $17 END, \
             trigger_type = CASE WHEN $5 THEN $6 ELSE trigger_type END, \
             schedule_cron = CASE WHEN $5 THEN $7 ELSE schedule_cron END, \
             schedule_timezone = CASE WHEN $5 THEN $8 ELSE schedule_timezone END, \
             next_fire_at = CASE WHEN $5 THEN $9 ELSE next_fire_at END, \
             webhook_token_digest = CASE WHEN $5 THEN $10 ELSE webhook_token_digest END, \
             webhook_token_sealed = CASE WHEN $5 THEN $11 ELSE webhook_token_sealed END, \
             email_address = CASE WHEN $5 THEN $12 ELSE email_address END, \
             notify_url = CASE WHEN $18 THEN $19 ELSE notify_url END, \
             webhook_verification = CASE WHEN $20 THEN $21 ELSE webhook_verification END, \
             schedule_catch_up = CASE WHEN $5 THEN $22 ELSE schedule_catch_up END, \
             updated_at = $13 \
             WHERE id = $14 AND workspace_id = $15 AND environment = $16 RETURNING ",
            pilot_columns!()
        ))
        .bind(&patch.title)
        .bind(&patch.description)
        .bind(patch.status.map(|s| s.as_str()))
        .bind(patch.steps.as_ref().map(json_text))
        .bind(patch.trigger.is_some())
        .bind(trigger_type_of(trigger))
        .bind(&trigger.schedule_cron)
        .bind(&trigger.schedule_timezone)
        .bind(trigger.next_fire_at.map(|t| t.0))
        .bind(&trigger.webhook_token_digest)
        .bind(&trigger.webhook_token_sealed)
        .bind(&trigger.email_address)
        .bind(now.0)
        .bind(id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(patch.steps_key_id.map(|k| k.0))
        .bind(patch.notify_url.is_some())
        .bind(patch.notify_url.clone().flatten())
        .bind(patch.webhook_verification.is_some())
        .bind(patch.webhook_verification.clone().flatten())
        .bind(trigger.schedule_catch_up.map(CatchUp::as_str))
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn delete_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM pilots WHERE id = $1 AND workspace_id = $2 AND environment = $3",
        )
        .bind(id.0)
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn find_pilot_by_webhook(&self, token_digest: &str) -> StoreResult<Option<PilotRecord>> {
        let sql = concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE webhook_token_digest = $1"
        );
        pilot_by_key(&self.pool, sql, token_digest).await
    }

    async fn find_pilot_by_email(&self, address: &str) -> StoreResult<Option<PilotRecord>> {
        let sql = concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE email_address = $1"
        );
        pilot_by_key(&self.pool, sql, address).await
    }

    async fn due_schedules(&self, now: UnixMillis, limit: u32) -> StoreResult<Vec<PilotRecord>> {
        let rows = sqlx::query_as::<_, PilotRow>(concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE status = 'active' AND trigger_type = 'schedule' \
              AND next_fire_at <= $1 ORDER BY next_fire_at, id LIMIT $2"
        ))
        .bind(now.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn fire_schedule(
        &self,
        pilot_id: PilotId,
        expected: UnixMillis,
        next: Option<UnixMillis>,
        payload: &Value,
        now: UnixMillis,
    ) -> StoreResult<Option<RunRecord>> {
        let mut tx = self.pool.begin().await?;
        // The guard: only the claimer that moves `next_fire_at` off `expected` fires.
        let moved = sqlx::query(
            "UPDATE pilots SET next_fire_at = $1 \
             WHERE id = $2 AND next_fire_at = $3 AND status = 'active' \
               AND trigger_type = 'schedule'",
        )
        .bind(next.map(|t| t.0))
        .bind(pilot_id.0)
        .bind(expected.0)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(None);
        }
        let run = queue_run_of_pilot(&mut tx, pilot_id, FiredBy::Schedule, payload, now).await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(Some(run))
    }

    async fn skip_schedule_tick(
        &self,
        pilot_id: PilotId,
        expected: UnixMillis,
        next: Option<UnixMillis>,
    ) -> StoreResult<bool> {
        let moved = sqlx::query(
            "UPDATE pilots SET next_fire_at = $1 \
             WHERE id = $2 AND next_fire_at = $3 AND trigger_type = 'schedule'",
        )
        .bind(next.map(|t| t.0))
        .bind(pilot_id.0)
        .bind(expected.0)
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected() == 1)
    }
}
