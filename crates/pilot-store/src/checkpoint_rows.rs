//! Checkpoint rows as both backends return them (JSON columns are text on both).

use pilot_domain::{DeliberationId, UnixMillis};

use crate::checkpoints::CheckpointRecord;
use crate::deliberation_rows::{corrupt, parsed};
use crate::error::{StoreError, StoreResult};
use crate::pilot_rows::json_column;
use crate::row_decode::from_sqlite_row;

/// Column list of every checkpoint query.
macro_rules! checkpoint_columns {
    () => {
        "id, deliberation_id, seq, kind, offer, state, answer, created_at, expires_at, \
         answered_at"
    };
}
pub(crate) use checkpoint_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    id: String,
    deliberation_id: String,
    seq: i32,
    kind: String,
    offer: String,
    state: String,
    answer: Option<String>,
    created_at: i64,
    expires_at: i64,
    answered_at: Option<i64>,
}

from_sqlite_row!(CheckpointRow {
    id,
    deliberation_id,
    seq,
    kind,
    offer,
    state,
    answer,
    created_at,
    expires_at,
    answered_at
});

impl TryFrom<CheckpointRow> for CheckpointRecord {
    type Error = StoreError;

    fn try_from(row: CheckpointRow) -> StoreResult<CheckpointRecord> {
        let column = "deliberation_checkpoints.deliberation_id";
        Ok(CheckpointRecord {
            deliberation_id: DeliberationId::parse(&row.deliberation_id)
                .ok_or_else(|| corrupt(column, format!("not an id: {:?}", row.deliberation_id)))?,
            id: row.id,
            seq: row.seq,
            kind: parsed("deliberation_checkpoints.kind", &row.kind)?,
            offer: json_column("deliberation_checkpoints.offer", &row.offer)?,
            state: json_column("deliberation_checkpoints.state", &row.state)?,
            answer: row
                .answer
                .map(|a| json_column("deliberation_checkpoints.answer", &a))
                .transpose()?,
            created_at: UnixMillis(row.created_at),
            expires_at: UnixMillis(row.expires_at),
            answered_at: row.answered_at.map(UnixMillis),
        })
    }
}
