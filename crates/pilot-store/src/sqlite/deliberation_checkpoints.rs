//! [`CheckpointStore`] on SQLite: every write on the one writer connection, so an
//! answer and the job it wakes are one transaction and never race a snooze.

use async_trait::async_trait;
use pilot_domain::{DeliberationId, Environment, UnixMillis, WorkspaceId};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::SqliteStore;
use super::jobs::insert_job;
use super::row;
use crate::checkpoint_rows::{CheckpointRow, checkpoint_columns};
use crate::checkpoints::{
    AnswerCheckpoint, CheckpointRecord, CheckpointStore, NewCheckpoint, Verdict, judge,
};
use crate::deliberation_writes::deliberation_job;
use crate::error::StoreResult;
use crate::pilot_rows::json_text;

fn latest(conn: &Connection, id: &str) -> StoreResult<Option<CheckpointRecord>> {
    row::optional::<CheckpointRow>(
        conn,
        concat!(
            "SELECT ",
            checkpoint_columns!(),
            " FROM deliberation_checkpoints WHERE deliberation_id = ?1 ORDER BY seq DESC LIMIT 1"
        ),
        [id],
    )?
    .map(TryInto::try_into)
    .transpose()
}

/// The tenant's deliberation `id`: its workspace (for its job) and whether it ended.
fn tenant_deliberation(
    conn: &Connection,
    workspace_id: WorkspaceId,
    environment: Environment,
    id: &str,
) -> StoreResult<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT workspace_id, status FROM deliberations \
             WHERE id = ?1 AND workspace_id = ?2 AND environment = ?3",
        )?
        .query_row(params![id, workspace_id.0, environment.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// Moves the deliberation's queued job to now; `Busy` while it runs; a new job when
/// it has none.
fn wake_job(
    conn: &Connection,
    id: &DeliberationId,
    workspace_id: WorkspaceId,
    now: UnixMillis,
) -> StoreResult<Option<AnswerCheckpoint>> {
    let of_deliberation = "kind = 'deliberate' AND json_extract(payload, '$.deliberation_id') = ?1";
    let woken = row::execute(
        conn,
        &format!(
            "UPDATE jobs SET run_at = ?2, updated_at = ?2 \
             WHERE {of_deliberation} AND state = 'queued'"
        ),
        params![id.as_str(), now.0],
    )?;
    if woken > 0 {
        return Ok(None);
    }
    let running: i64 = row::scalar(
        conn,
        &format!("SELECT COUNT(*) FROM jobs WHERE {of_deliberation} AND state = 'running'"),
        [id.as_str()],
    )?;
    if running > 0 {
        return Ok(Some(AnswerCheckpoint::Busy));
    }
    insert_job(conn, &deliberation_job(id, workspace_id, now), now)?;
    Ok(None)
}

fn answer(
    conn: &Connection,
    (workspace_id, environment): (WorkspaceId, Environment),
    id: &DeliberationId,
    checkpoint_id: &str,
    answer: &Value,
    now: UnixMillis,
) -> StoreResult<AnswerCheckpoint> {
    let Some((workspace, status)) =
        tenant_deliberation(conn, workspace_id, environment, id.as_str())?
    else {
        return Ok(AnswerCheckpoint::Unknown);
    };
    let latest = latest(conn, id.as_str())?;
    match judge(&status, latest.as_ref(), checkpoint_id, now) {
        Verdict::Write => {}
        Verdict::Refuse(outcome) => return Ok(outcome),
        Verdict::NotTheLatest => {
            let known: i64 = row::scalar(
                conn,
                "SELECT COUNT(*) FROM deliberation_checkpoints \
                 WHERE id = ?1 AND deliberation_id = ?2",
                [checkpoint_id, id.as_str()],
            )?;
            return Ok(if known > 0 {
                AnswerCheckpoint::Closed
            } else {
                AnswerCheckpoint::Unknown
            });
        }
    }
    if let Some(busy) = wake_job(conn, id, WorkspaceId(workspace), now)? {
        return Ok(busy);
    }
    row::execute(
        conn,
        "UPDATE deliberation_checkpoints SET answer = ?1, answered_at = ?2 WHERE id = ?3",
        params![json_text(answer), now.0, checkpoint_id],
    )?;
    Ok(AnswerCheckpoint::Answered)
}

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn open_checkpoint(
        &self,
        id: &DeliberationId,
        new: &NewCheckpoint,
        now: UnixMillis,
    ) -> StoreResult<CheckpointRecord> {
        let (id, new) = (id.clone(), new.clone());
        self.writer
            .write(move |conn| {
                row::execute(
                    conn,
                    "INSERT INTO deliberation_checkpoints (id, deliberation_id, seq, kind, offer, \
                     state, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (deliberation_id, seq) DO NOTHING",
                    params![
                        new.id,
                        id.as_str(),
                        new.seq,
                        new.kind.as_str(),
                        json_text(&new.offer),
                        json_text(&new.state),
                        now.0,
                        new.expires_at.0
                    ],
                )?;
                row::one::<CheckpointRow>(
                    conn,
                    concat!(
                        "SELECT ",
                        checkpoint_columns!(),
                        " FROM deliberation_checkpoints WHERE deliberation_id = ?1 AND seq = ?2"
                    ),
                    params![id.as_str(), new.seq],
                )?
                .try_into()
            })
            .await
    }

    async fn latest_checkpoint(
        &self,
        id: &DeliberationId,
    ) -> StoreResult<Option<CheckpointRecord>> {
        let id = id.clone();
        self.readers
            .read(move |conn| latest(conn, id.as_str()))
            .await
    }

    async fn answer_checkpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliberationId,
        checkpoint_id: &str,
        answer_value: &Value,
        now: UnixMillis,
    ) -> StoreResult<AnswerCheckpoint> {
        let (id, checkpoint_id, value) =
            (id.clone(), checkpoint_id.to_owned(), answer_value.clone());
        let outcome = self
            .writer
            .write(move |conn| {
                answer(
                    conn,
                    (workspace_id, environment),
                    &id,
                    &checkpoint_id,
                    &value,
                    now,
                )
            })
            .await?;
        if outcome == AnswerCheckpoint::Answered {
            self.job_notify.notify_waiters();
        }
        Ok(outcome)
    }
}
