use async_trait::async_trait;
use pilot_domain::{
    Credits, DeliberationId, DeliberationStatus, Environment, FailureCode, UnixMillis, WorkspaceId,
};
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::credits::{balance_of, credit, debit};
use super::jobs::insert_job;
use super::row;
use super::webhooks::queue_delivery;
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

/// What settling did.
struct Settled {
    /// The deliberation ended with this write (it was not terminal before).
    ended: bool,
    /// A delivery job was queued for its `webhook_url`.
    delivery_queued: bool,
}

/// Settles the deliberation that the write's guarded `UPDATE` just made terminal
/// (`ended`): refunds what it was not charged, records its event in the outbox and,
/// with a `webhook_url`, queues its delivery. Nothing is written when the update
/// found it terminal already.
fn settle(
    conn: &Connection,
    ended: Option<DeliberationRow>,
    now: UnixMillis,
) -> StoreResult<Settled> {
    let Some(row) = ended else {
        return Ok(Settled {
            ended: false,
            delivery_queued: false,
        });
    };
    let record: DeliberationRecord = row.try_into()?;
    if let Some(posting) = refund(&record) {
        credit(conn, &posting, now)?;
    }
    let event = terminal_event(&record, now)?;
    row::execute(
        conn,
        "INSERT INTO deliberation_events (id, event, deliberation_id, workspace_id, environment, \
         key_id, webhook_url, payload, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            event.id,
            event.event,
            record.id.as_str(),
            record.workspace_id.0,
            record.environment.as_str(),
            record.key_id.map(|key| key.0),
            record.webhook_url,
            event.payload,
            now.0
        ],
    )?;
    let delivery_queued = match NewDelivery::of_deliberation(&record, &event, now)? {
        Some(new) => queue_delivery(conn, &new, now)?,
        None => false,
    };
    Ok(Settled {
        ended: true,
        delivery_queued,
    })
}

impl SqliteStore {
    /// Wakes the workers when settling queued a delivery.
    fn settled(&self, settled: Settled) -> bool {
        if settled.delivery_queued {
            self.job_notify.notify_waiters();
        }
        settled.ended
    }
}

fn create(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
    new: &NewDeliberation,
    now: UnixMillis,
) -> StoreResult<CreateDeliberation> {
    // A free deliberation reserves nothing and leaves no ledger entry.
    if new.estimate > Credits::ZERO {
        let posting = reservation(workspace_id, environment, &new.id, new.estimate);
        if debit(conn, &posting, now)?.is_none() {
            let balance = balance_of(conn, workspace_id, environment)?;
            return Ok(CreateDeliberation::InsufficientCredits { balance });
        }
    }
    let record: DeliberationRecord = row::one::<DeliberationRow>(
        conn,
        concat!(
            "INSERT INTO deliberations (id, workspace_id, environment, key_id, mode, use_case, \
             difficulty, question, webhook_url, metadata, status, estimate_micros, created_at, \
             updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued', ?11, ?12, ?12) \
             RETURNING ",
            deliberation_columns!()
        ),
        params![
            new.id.as_str(),
            workspace_id.0,
            environment.as_str(),
            new.key_id.map(|key| key.0),
            new.mode.as_str(),
            new.use_case.as_str(),
            new.difficulty.as_str(),
            new.question,
            new.webhook_url,
            new.metadata.as_ref().map(json_text),
            new.estimate.micros(),
            now.0
        ],
    )?
    .try_into()?;
    insert_job(conn, &deliberation_job(&record.id, workspace_id, now), now)?;
    Ok(CreateDeliberation::Created(record))
}

#[async_trait]
impl DeliberationStore for SqliteStore {
    async fn create_deliberation(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        new: &NewDeliberation,
        now: UnixMillis,
    ) -> StoreResult<CreateDeliberation> {
        let new = new.clone();
        let created = self
            .writer
            .write(move |conn| create(conn, workspace_id, environment, &new, now))
            .await?;
        if matches!(created, CreateDeliberation::Created(_)) {
            self.job_notify.notify_waiters();
        }
        Ok(created)
    }

    async fn get_deliberation(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliberationId,
    ) -> StoreResult<Option<DeliberationRecord>> {
        let id = id.clone();
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<DeliberationRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        deliberation_columns!(),
                        " FROM deliberations WHERE id = ?1 AND workspace_id = ?2 \
                          AND environment = ?3"
                    ),
                    params![id.as_str(), workspace_id.0, environment.as_str()],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn load_deliberation(
        &self,
        id: &DeliberationId,
    ) -> StoreResult<Option<DeliberationRecord>> {
        let id = id.clone();
        let row = self
            .readers
            .read(move |conn| {
                row::optional::<DeliberationRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        deliberation_columns!(),
                        " FROM deliberations WHERE id = ?1"
                    ),
                    [id.as_str()],
                )
            })
            .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn mark_deliberation_running(
        &self,
        id: &DeliberationId,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let id = id.clone();
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "UPDATE deliberations SET status = 'running', updated_at = ?1 \
                     WHERE id = ?2 AND status = 'queued'",
                    params![now.0, id.as_str()],
                )
                .map(drop)
            })
            .await
    }

    async fn record_panel_entry(&self, id: &DeliberationId, entry: &PanelEntry) -> StoreResult<()> {
        let (id, entry) = (id.clone(), entry.clone());
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO deliberation_panel (deliberation_id, stage, author, content, \
                     created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        id.as_str(),
                        entry.stage,
                        entry.author,
                        json_text(&entry.content),
                        entry.created_at.0
                    ],
                )
                .map(drop)
            })
            .await
    }

    async fn panel_entries(&self, id: &DeliberationId) -> StoreResult<Vec<PanelEntry>> {
        let id = id.clone();
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<PanelRow>(
                    conn,
                    "SELECT stage, author, content, created_at FROM deliberation_panel \
                     WHERE deliberation_id = ?1 ORDER BY seq",
                    [id.as_str()],
                )
            })
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
        let (id, result) = (id.clone(), result.clone());
        self.writer
            .write(move |conn| {
                let ended = row::optional::<DeliberationRow>(
                    conn,
                    concat!(
                        "UPDATE deliberations SET status = 'completed', \
                         charged_micros = MIN(estimate_micros, ?1), synthesis = ?2, \
                         summary = ?3, minority_report = ?4, confidence_index = ?5, \
                         confidence_inputs = ?6, degraded = ?7, updated_at = ?8, \
                         completed_at = ?8 \
                         WHERE id = ?9 AND status IN ('queued', 'running') RETURNING ",
                        deliberation_columns!()
                    ),
                    params![
                        cost.max(Credits::ZERO).micros(),
                        result.synthesis,
                        result.summary,
                        result.minority_report,
                        result.confidence_index,
                        json_text(&result.confidence_inputs),
                        result.degraded,
                        now.0,
                        id.as_str()
                    ],
                )?;
                settle(conn, ended, now)
            })
            .await
            .map(|settled| self.settled(settled))
    }

    async fn fail_deliberation(
        &self,
        id: &DeliberationId,
        code: FailureCode,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let id = id.clone();
        self.writer
            .write(move |conn| {
                let ended = row::optional::<DeliberationRow>(
                    conn,
                    concat!(
                        "UPDATE deliberations SET status = 'failed', charged_micros = 0, \
                         failure_code = ?1, updated_at = ?2, completed_at = ?2 \
                         WHERE id = ?3 AND status IN ('queued', 'running') RETURNING ",
                        deliberation_columns!()
                    ),
                    params![code.as_str(), now.0, id.as_str()],
                )?;
                settle(conn, ended, now)
            })
            .await
            .map(|settled| self.settled(settled))
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
        let id = id.clone();
        let rows = self
            .readers
            .read(move |conn| {
                row::all::<EventRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        event_columns!(),
                        " FROM deliberation_events WHERE deliberation_id = ?1 \
                          ORDER BY created_at, id"
                    ),
                    [id.as_str()],
                )
            })
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
