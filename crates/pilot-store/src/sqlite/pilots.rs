use async_trait::async_trait;
use pilot_domain::{CatchUp, Environment, FiredBy, PilotId, UnixMillis, WorkspaceId};
use rusqlite::params;
use serde_json::Value;

use super::SqliteStore;
use super::row;
use super::runs::queue_run_of_pilot;
use crate::error::StoreResult;
use crate::pilot_rows::{PilotRow, json_text, pilot_columns, trigger_type_of};
use crate::pilots::{NewPilot, PilotPatch, PilotRecord, PilotStore, PilotTrigger, RunRecord};

impl SqliteStore {
    /// The pilot that a unique trigger column (`sql` compares it with `?1`) names.
    async fn pilot_by_key(&self, sql: &'static str, key: &str) -> StoreResult<Option<PilotRecord>> {
        let key = key.to_owned();
        let row = self
            .readers
            .read(move |conn| row::optional::<PilotRow>(conn, sql, [key]))
            .await?;
        row.map(TryInto::try_into).transpose()
    }
}

#[async_trait]
impl PilotStore for SqliteStore {
    async fn create_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        pilot: &NewPilot,
        now: UnixMillis,
    ) -> StoreResult<PilotRecord> {
        let pilot = pilot.clone();
        self.writer
            .write(move |conn| {
                let trigger = &pilot.trigger;
                row::one::<PilotRow>(
                    conn,
                    concat!(
                        "INSERT INTO pilots (workspace_id, environment, title, description, \
                         status, trigger_type, steps, schedule_cron, schedule_timezone, \
                         next_fire_at, webhook_token_digest, webhook_token_sealed, \
                         email_address, created_at, updated_at, steps_key_id, notify_url, \
                         schedule_catch_up, webhook_verification) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, \
                                 ?15, ?16, ?17, ?18) \
                         RETURNING ",
                        pilot_columns!()
                    ),
                    params![
                        workspace_id.0,
                        environment.as_str(),
                        pilot.title,
                        pilot.description,
                        pilot.status.as_str(),
                        trigger_type_of(trigger),
                        json_text(&pilot.steps),
                        trigger.schedule_cron,
                        trigger.schedule_timezone,
                        trigger.next_fire_at.map(|t| t.0),
                        trigger.webhook_token_digest,
                        trigger.webhook_token_sealed,
                        trigger.email_address,
                        now.0,
                        pilot.steps_key_id.map(|k| k.0),
                        pilot.notify_url,
                        trigger.schedule_catch_up.map(CatchUp::as_str),
                        pilot.webhook_verification
                    ],
                )?
                .try_into()
            })
            .await
    }

    async fn list_pilots(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
    ) -> StoreResult<Vec<PilotRecord>> {
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<PilotRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        pilot_columns!(),
                        " FROM pilots WHERE workspace_id = ?1 AND environment = ?2 \
                          ORDER BY id DESC"
                    ),
                    params![workspace_id.0, environment.as_str()],
                )
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn get_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
    ) -> StoreResult<Option<PilotRecord>> {
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<PilotRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        pilot_columns!(),
                        " FROM pilots WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3"
                    ),
                    params![id.0, workspace_id.0, environment.as_str()],
                )
            })
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
        let patch = patch.clone();
        let row = self
            .writer
            .write(move |conn| {
                // One statement: `?5` says whether the trigger columns are replaced at all,
                // `?18` whether the notify URL is.
                let unchanged = PilotTrigger::default();
                let trigger = patch.trigger.as_ref().unwrap_or(&unchanged);
                row::optional::<PilotRow>(
                    conn,
                    concat!(
                        "UPDATE pilots SET title = COALESCE(?1, title), \
                         description = COALESCE(?2, description), status = COALESCE(?3, status), \
                         steps = COALESCE(?4, steps), \
                         steps_key_id = CASE WHEN ?4 IS NULL THEN steps_key_id ELSE ?17 END, \
                         trigger_type = CASE WHEN ?5 THEN ?6 ELSE trigger_type END, \
                         schedule_cron = CASE WHEN ?5 THEN ?7 ELSE schedule_cron END, \
                         schedule_timezone = CASE WHEN ?5 THEN ?8 ELSE schedule_timezone END, \
                         next_fire_at = CASE WHEN ?5 THEN ?9 ELSE next_fire_at END, \
                         webhook_token_digest = CASE WHEN ?5 THEN ?10 ELSE webhook_token_digest END, \
                         webhook_token_sealed = CASE WHEN ?5 THEN ?11 ELSE webhook_token_sealed END, \
                         email_address = CASE WHEN ?5 THEN ?12 ELSE email_address END, \
                         notify_url = CASE WHEN ?18 THEN ?19 ELSE notify_url END, \
                         webhook_verification = CASE WHEN ?20 THEN ?21 ELSE webhook_verification END, \
                         schedule_catch_up = CASE WHEN ?5 THEN ?22 ELSE schedule_catch_up END, \
                         updated_at = ?13 \
                         WHERE id = ?14 AND workspace_id = ?15 AND environment = ?16 RETURNING ",
                        pilot_columns!()
                    ),
                    params![
                        patch.title,
                        patch.description,
                        patch.status.map(|s| s.as_str()),
                        patch.steps.as_ref().map(json_text),
                        patch.trigger.is_some(),
                        trigger_type_of(trigger),
                        trigger.schedule_cron,
                        trigger.schedule_timezone,
                        trigger.next_fire_at.map(|t| t.0),
                        trigger.webhook_token_digest,
                        trigger.webhook_token_sealed,
                        trigger.email_address,
                        now.0,
                        id.0,
                        workspace_id.0,
                        environment.as_str(),
                        patch.steps_key_id.map(|k| k.0),
                        patch.notify_url.is_some(),
                        patch.notify_url.clone().flatten(),
                        patch.webhook_verification.is_some(),
                        patch.webhook_verification.clone().flatten(),
                        trigger.schedule_catch_up.map(CatchUp::as_str)
                    ],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn delete_pilot(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: PilotId,
    ) -> StoreResult<bool> {
        let deleted = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "DELETE FROM pilots WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3",
                    params![id.0, workspace_id.0, environment.as_str()],
                )
            })
            .await?;
        Ok(deleted == 1)
    }

    async fn find_pilot_by_webhook(&self, token_digest: &str) -> StoreResult<Option<PilotRecord>> {
        let sql = concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE webhook_token_digest = ?1"
        );
        self.pilot_by_key(sql, token_digest).await
    }

    async fn find_pilot_by_email(&self, address: &str) -> StoreResult<Option<PilotRecord>> {
        let sql = concat!(
            "SELECT ",
            pilot_columns!(),
            " FROM pilots WHERE email_address = ?1"
        );
        self.pilot_by_key(sql, address).await
    }

    async fn due_schedules(&self, now: UnixMillis, limit: u32) -> StoreResult<Vec<PilotRecord>> {
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<PilotRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        pilot_columns!(),
                        " FROM pilots WHERE status = 'active' AND trigger_type = 'schedule' \
                          AND next_fire_at <= ?1 ORDER BY next_fire_at, id LIMIT ?2"
                    ),
                    params![now.0, i64::from(limit)],
                )
            })
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
        let payload = json_text(payload);
        let fired = self
            .writer
            .write(move |conn| {
                // The guard: only the claimer that moves `next_fire_at` off `expected` fires.
                let moved = row::execute(
                    conn,
                    "UPDATE pilots SET next_fire_at = ?1, run_count = run_count + 1, \
                            last_run_at = ?2 \
                     WHERE id = ?3 AND next_fire_at = ?4 AND status = 'active' \
                       AND trigger_type = 'schedule'",
                    params![next.map(|t| t.0), now.0, pilot_id.0, expected.0],
                )?;
                if moved != 1 {
                    return Ok(None);
                }
                queue_run_of_pilot(conn, pilot_id, FiredBy::Schedule, &payload, None, now).map(Some)
            })
            .await?;
        if fired.is_some() {
            self.job_notify.notify_waiters();
        }
        Ok(fired)
    }

    async fn skip_schedule_tick(
        &self,
        pilot_id: PilotId,
        expected: UnixMillis,
        next: Option<UnixMillis>,
    ) -> StoreResult<bool> {
        let moved = self
            .writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE pilots SET next_fire_at = ?1 \
                     WHERE id = ?2 AND next_fire_at = ?3 AND trigger_type = 'schedule'",
                    params![next.map(|t| t.0), pilot_id.0, expected.0],
                )
            })
            .await?;
        Ok(moved == 1)
    }
}
