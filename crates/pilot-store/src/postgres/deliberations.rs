use async_trait::async_trait;
use pilot_domain::{
    Credits, DeliberationId, DeliberationStatus, Environment, FailureCode, UnixMillis, WorkspaceId,
};
use sqlx::{Postgres, Transaction};

use super::PostgresStore;
use super::credits::{balance_of, credit, debit};
use super::jobs::insert_job;
use super::webhook_events::enqueue_deliveries;
use crate::dashboard::DeliberationSummaryRecord;
use crate::deliberation_rows::{
    DeliberationRow, EventRow, PanelRow, deliberation_columns, event_columns,
};
use crate::deliberation_writes::{deliberation_job, refund, reservation, terminal_event};
use crate::deliberations::{
    CreateDeliberation, DeliberationRecord, DeliberationResult, DeliberationStore, EventRecord,
    NewDeliberation, PanelEntry,
};
use crate::error::StoreResult;
use crate::pilot_rows::json_text;
use crate::webhook_writes::NewDelivery;

/// Settles the deliberation that `tx`'s guarded `UPDATE` just made terminal (`ended`)
/// — refunds what it was not charged, records its event in the outbox and, for a
/// `webhook_url`, its delivery — and commits. Whether it settled (`false`, with
/// nothing written, when the update found it terminal already) and how many jobs it
/// queued.
async fn settle(
    mut tx: Transaction<'_, Postgres>,
    ended: Option<DeliberationRow>,
    now: UnixMillis,
) -> StoreResult<(bool, u64)> {
    let Some(row) = ended else {
        return Ok((false, 0));
    };
    let record: DeliberationRecord = row.try_into()?;
    if let Some(posting) = refund(&record) {
        credit(&mut tx, &posting, now).await?;
    }
    let event = terminal_event(&record, now)?;
    sqlx::query(
        "INSERT INTO deliberation_events (id, event, deliberation_id, workspace_id, environment, \
         key_id, webhook_url, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&event.id)
    .bind(&event.event)
    .bind(record.id.as_str())
    .bind(record.workspace_id.0)
    .bind(record.environment.as_str())
    .bind(record.key_id.map(|key| key.0))
    .bind(&record.webhook_url)
    .bind(&event.payload)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    let queued = match NewDelivery::of_deliberation(&record, &event, now)? {
        Some(delivery) => enqueue_deliveries(&mut tx, &[delivery], now).await?,
        None => 0,
    };
    tx.commit().await?;
    Ok((true, queued))
}

#[async_trait]
impl DeliberationStore for PostgresStore {
    async fn create_deliberation(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        new: &NewDeliberation,
        now: UnixMillis,
    ) -> StoreResult<CreateDeliberation> {
        let mut tx = self.pool.begin().await?;
        // A free deliberation reserves nothing and leaves no ledger entry.
        if new.estimate > Credits::ZERO {
            let posting = reservation(workspace_id, environment, &new.id, new.estimate);
            if debit(&mut tx, &posting, now).await?.is_none() {
                let balance = balance_of(&mut tx, workspace_id, environment).await?;
                return Ok(CreateDeliberation::InsufficientCredits { balance });
            }
        }
        let record: DeliberationRecord = sqlx::query_as::<_, DeliberationRow>(concat!(
            "INSERT INTO deliberations (id, workspace_id, environment, key_id, mode, use_case, \
             difficulty, question, webhook_url, metadata, status, estimate_micros, created_at, \
             updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11, $12, $12) \
             RETURNING ",
            deliberation_columns!()
        ))
        .bind(new.id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .bind(new.key_id.map(|key| key.0))
        .bind(new.mode.as_str())
        .bind(new.use_case.as_str())
        .bind(new.difficulty.as_str())
        .bind(&new.question)
        .bind(&new.webhook_url)
        .bind(new.metadata.as_ref().map(json_text))
        .bind(new.estimate.micros())
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?
        .try_into()?;
        insert_job(
            &mut tx,
            &deliberation_job(&record.id, workspace_id, now),
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake_workers();
        Ok(CreateDeliberation::Created(record))
    }

    async fn get_deliberation(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliberationId,
    ) -> StoreResult<Option<DeliberationRecord>> {
        let row = sqlx::query_as::<_, DeliberationRow>(concat!(
            "SELECT ",
            deliberation_columns!(),
            " FROM deliberations WHERE id = $1 AND workspace_id = $2 AND environment = $3"
        ))
        .bind(id.as_str())
        .bind(workspace_id.0)
        .bind(environment.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn load_deliberation(
        &self,
        id: &DeliberationId,
    ) -> StoreResult<Option<DeliberationRecord>> {
        let row = sqlx::query_as::<_, DeliberationRow>(concat!(
            "SELECT ",
            deliberation_columns!(),
            " FROM deliberations WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn mark_deliberation_running(
        &self,
        id: &DeliberationId,
        now: UnixMillis,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE deliberations SET status = 'running', updated_at = $1 \
             WHERE id = $2 AND status = 'queued'",
        )
        .bind(now.0)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_panel_entry(&self, id: &DeliberationId, entry: &PanelEntry) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO deliberation_panel (deliberation_id, stage, author, content, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(&entry.stage)
        .bind(&entry.author)
        .bind(json_text(&entry.content))
        .bind(entry.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn panel_entries(&self, id: &DeliberationId) -> StoreResult<Vec<PanelEntry>> {
        let rows = sqlx::query_as::<_, PanelRow>(
            "SELECT stage, author, content, created_at FROM deliberation_panel \
             WHERE deliberation_id = $1 ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn complete_deliberation(
        &self,
        id: &DeliberationId,
        result: &DeliberationResult,
        cost: Credits,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query_as::<_, DeliberationRow>(concat!(
            "UPDATE deliberations SET status = 'completed', \
             charged_micros = LEAST(estimate_micros, $1), synthesis = $2, summary = $3, \
             minority_report = $4, confidence_index = $5, confidence_inputs = $6, \
             degraded = $7, updated_at = $8, completed_at = $8 \
             WHERE id = $9 AND status IN ('queued', 'running') RETURNING ",
            deliberation_columns!()
        ))
        .bind(cost.max(Credits::ZERO).micros())
        .bind(&result.synthesis)
        .bind(&result.summary)
        .bind(&result.minority_report)
        .bind(result.confidence_index)
        .bind(json_text(&result.confidence_inputs))
        .bind(result.degraded)
        .bind(now.0)
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let (settled, queued) = settle(tx, ended, now).await?;
        if queued > 0 {
            self.wake_workers();
        }
        Ok(settled)
    }

    async fn fail_deliberation(
        &self,
        id: &DeliberationId,
        code: FailureCode,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let ended = sqlx::query_as::<_, DeliberationRow>(concat!(
            "UPDATE deliberations SET status = 'failed', charged_micros = 0, failure_code = $1, \
             updated_at = $2, completed_at = $2 \
             WHERE id = $3 AND status IN ('queued', 'running') RETURNING ",
            deliberation_columns!()
        ))
        .bind(code.as_str())
        .bind(now.0)
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let (settled, queued) = settle(tx, ended, now).await?;
        if queued > 0 {
            self.wake_workers();
        }
        Ok(settled)
    }

    async fn list_deliberations(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        status: Option<DeliberationStatus>,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<DeliberationSummaryRecord>> {
        self.tenant_deliberations(workspace_id, environment, status, before, limit)
            .await
    }

    async fn deliberation_events(&self, id: &DeliberationId) -> StoreResult<Vec<EventRecord>> {
        let rows = sqlx::query_as::<_, EventRow>(concat!(
            "SELECT ",
            event_columns!(),
            " FROM deliberation_events WHERE deliberation_id = $1 ORDER BY created_at, id"
        ))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
