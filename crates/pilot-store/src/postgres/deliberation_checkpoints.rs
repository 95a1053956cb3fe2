//! [`CheckpointStore`] on PostgreSQL. An answer locks its deliberation's row, so two
//! answers to one checkpoint take turns (the second finds it answered), and wakes
//! the job only while it is queued: a job being run is seen as `running` (its
//! snooze not yet committed) and the answer is [`AnswerCheckpoint::Busy`].

use async_trait::async_trait;
use pilot_domain::{DeliberationId, Environment, UnixMillis, WorkspaceId};
use serde_json::Value;
use sqlx::PgConnection;

use super::PostgresStore;
use super::jobs::insert_job;
use crate::checkpoint_rows::{CheckpointRow, checkpoint_columns};
use crate::checkpoints::{
    AnswerCheckpoint, CheckpointRecord, CheckpointStore, NewCheckpoint, Verdict, judge,
};
use crate::deliberation_writes::deliberation_job;
use crate::error::StoreResult;
use crate::pilot_rows::json_text;

const LATEST: &str = concat!(
    "SELECT ",
    checkpoint_columns!(),
    " FROM deliberation_checkpoints WHERE deliberation_id = $1 ORDER BY seq DESC LIMIT 1"
);

async fn latest(conn: &mut PgConnection, id: &str) -> StoreResult<Option<CheckpointRecord>> {
    sqlx::query_as::<_, CheckpointRow>(LATEST)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

async fn answer(
    conn: &mut PgConnection,
    (workspace_id, environment): (WorkspaceId, Environment),
    id: &DeliberationId,
    checkpoint_id: &str,
    value: &Value,
    now: UnixMillis,
) -> StoreResult<AnswerCheckpoint> {
    let deliberation: Option<(i64, String)> = sqlx::query_as(
        "SELECT workspace_id, status FROM deliberations \
         WHERE id = $1 AND workspace_id = $2 AND environment = $3 FOR UPDATE",
    )
    .bind(id.as_str())
    .bind(workspace_id.0)
    .bind(environment.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((workspace, status)) = deliberation else {
        return Ok(AnswerCheckpoint::Unknown);
    };
    let latest = latest(conn, id.as_str()).await?;
    match judge(&status, latest.as_ref(), checkpoint_id, now) {
        Verdict::Write => {}
        Verdict::Refuse(outcome) => return Ok(outcome),
        Verdict::NotTheLatest => {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM deliberation_checkpoints \
                 WHERE id = $1 AND deliberation_id = $2)",
            )
            .bind(checkpoint_id)
            .bind(id.as_str())
            .fetch_one(&mut *conn)
            .await?;
            return Ok(if known {
                AnswerCheckpoint::Closed
            } else {
                AnswerCheckpoint::Unknown
            });
        }
    }
    let woken = sqlx::query(
        "UPDATE jobs SET run_at = $2, updated_at = $2 WHERE kind = 'deliberate' \
         AND payload ->> 'deliberation_id' = $1 AND state = 'queued'",
    )
    .bind(id.as_str())
    .bind(now.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if woken == 0 {
        let running: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE kind = 'deliberate' \
             AND payload ->> 'deliberation_id' = $1 AND state = 'running')",
        )
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?;
        if running {
            return Ok(AnswerCheckpoint::Busy);
        }
        insert_job(
            conn,
            &deliberation_job(id, WorkspaceId(workspace), now),
            now,
        )
        .await?;
    }
    sqlx::query("UPDATE deliberation_checkpoints SET answer = $1, answered_at = $2 WHERE id = $3")
        .bind(json_text(value))
        .bind(now.0)
        .bind(checkpoint_id)
        .execute(&mut *conn)
        .await?;
    Ok(AnswerCheckpoint::Answered)
}

#[async_trait]
impl CheckpointStore for PostgresStore {
    async fn open_checkpoint(
        &self,
        id: &DeliberationId,
        new: &NewCheckpoint,
        now: UnixMillis,
    ) -> StoreResult<CheckpointRecord> {
        sqlx::query(
            "INSERT INTO deliberation_checkpoints (id, deliberation_id, seq, kind, offer, state, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (deliberation_id, seq) DO NOTHING",
        )
        .bind(&new.id)
        .bind(id.as_str())
        .bind(new.seq)
        .bind(new.kind.as_str())
        .bind(json_text(&new.offer))
        .bind(json_text(&new.state))
        .bind(now.0)
        .bind(new.expires_at.0)
        .execute(&self.pool)
        .await?;
        sqlx::query_as::<_, CheckpointRow>(concat!(
            "SELECT ",
            checkpoint_columns!(),
            " FROM deliberation_checkpoints WHERE deliberation_id = $1 AND seq = $2"
        ))
        .bind(id.as_str())
        .bind(new.seq)
        .fetch_one(&self.pool)
        .await?
        .try_into()
    }

    async fn latest_checkpoint(
        &self,
        id: &DeliberationId,
    ) -> StoreResult<Option<CheckpointRecord>> {
        let mut conn = self.pool.acquire().await?;
        latest(&mut conn, id.as_str()).await
    }

    async fn answer_checkpoint(
        &self,
        workspace_id: WorkspaceId,
        environment: Environment,
        id: &DeliberationId,
        checkpoint_id: &str,
        value: &Value,
        now: UnixMillis,
    ) -> StoreResult<AnswerCheckpoint> {
        let mut tx = self.pool.begin().await?;
        let outcome = answer(
            &mut tx,
            (workspace_id, environment),
            id,
            checkpoint_id,
            value,
            now,
        )
        .await?;
        // Anything but an answer wrote nothing: the transaction is rolled back.
        if outcome == AnswerCheckpoint::Answered {
            tx.commit().await?;
            self.wake_workers();
        }
        Ok(outcome)
    }
}
