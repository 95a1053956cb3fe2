//! The dashboard's reads across a tenant: its runs over every pilot, its
//! deliberations, its ledger by page — the records they hand back, the rows both
//! backends decode, and the one SQL both backends run for them, placeholders apart.
//!
//! Each query is a range seek on an index led by `(workspace_id, environment)`
//! (migration `0013_dashboard_reads`), newest first, `LIMIT`ed; a filter left out is
//! left out of the SQL rather than matched by `? IS NULL OR …`, so the planner can
//! pick the index a filter has.

use pilot_domain::{
    Credits, DeliberationId, DeliberationStatus, Environment, FiredBy, Mode, PilotId, RunId,
    RunStatus, TriggerType, UnixMillis, WorkspaceId,
};

use crate::deliberation_rows::{corrupt, parsed};
use crate::error::StoreResult;
use crate::row_decode::from_sqlite_row;

/// Which of a tenant's runs: every filter given narrows, `before` pages back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantRunsFilter {
    pub pilot_id: Option<PilotId>,
    pub status: Option<RunStatus>,
    pub fired_by: Option<FiredBy>,
    pub trigger_type: Option<TriggerType>,
    /// Created at or after.
    pub since: Option<UnixMillis>,
    /// Created before.
    pub until: Option<UnixMillis>,
    /// Only runs with a smaller id.
    pub before: Option<RunId>,
}

/// A run as a list shows it: no payload, steps or results; its pilot's title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummaryRecord {
    pub id: RunId,
    pub pilot_id: PilotId,
    pub pilot_title: String,
    pub status: RunStatus,
    pub trigger_type: TriggerType,
    pub fired_by: FiredBy,
    pub error: Option<String>,
    pub created_at: UnixMillis,
    pub started_at: Option<UnixMillis>,
    pub finished_at: Option<UnixMillis>,
}

/// A deliberation as a list shows it, with the position the list pages by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliberationSummaryRecord {
    /// Insertion order within the store (SQLite's `rowid`, PostgreSQL's `seq`): the
    /// list's cursor.
    pub seq: i64,
    pub id: DeliberationId,
    /// Its first [`QUESTION_PREVIEW_CHARS`] characters.
    pub question: String,
    pub mode: Mode,
    pub status: DeliberationStatus,
    pub estimate: Credits,
    pub credits_charged: Option<Credits>,
    pub created_at: UnixMillis,
    pub completed_at: Option<UnixMillis>,
}

/// How much of a question a deliberation list carries, in characters.
pub const QUESTION_PREVIEW_CHARS: usize = 200;

/// A value bound to a built query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SqlValue {
    Int(i64),
    Text(&'static str),
}

/// SQL with its bound values, numbered as a backend numbers them (`?1`, `$1`).
pub(crate) struct BuiltQuery {
    pub(crate) sql: String,
    pub(crate) values: Vec<SqlValue>,
    sigil: char,
}

impl BuiltQuery {
    fn new(sigil: char, head: &str) -> BuiltQuery {
        BuiltQuery {
            sql: head.to_owned(),
            values: Vec::new(),
            sigil,
        }
    }

    /// Appends `before`, a placeholder for `value`, and `after`.
    fn bind(&mut self, before: &str, value: SqlValue, after: &str) {
        self.values.push(value);
        self.sql.push_str(before);
        self.sql.push(self.sigil);
        self.sql.push_str(&self.values.len().to_string());
        self.sql.push_str(after);
    }
}

/// The tenant's runs `filter` picks, newest first, at most `limit`.
pub(crate) fn tenant_runs_query(
    sigil: char,
    workspace_id: WorkspaceId,
    environment: Environment,
    filter: &TenantRunsFilter,
    limit: u32,
) -> BuiltQuery {
    let mut q = BuiltQuery::new(
        sigil,
        "SELECT r.id, r.pilot_id, p.title AS pilot_title, r.status, r.trigger_type, \
         r.fired_by, r.error, r.created_at, r.started_at, r.finished_at \
         FROM runs r JOIN pilots p ON p.id = r.pilot_id WHERE",
    );
    q.bind(" r.workspace_id = ", SqlValue::Int(workspace_id.0), "");
    q.bind(
        " AND r.environment = ",
        SqlValue::Text(environment.as_str()),
        "",
    );
    let before = filter.before.map_or(i64::MAX, |id| id.0);
    q.bind(" AND r.id < ", SqlValue::Int(before), "");
    if let Some(pilot) = filter.pilot_id {
        q.bind(" AND r.pilot_id = ", SqlValue::Int(pilot.0), "");
    }
    if let Some(status) = filter.status {
        q.bind(" AND r.status = ", SqlValue::Text(status.as_str()), "");
    }
    if let Some(fired_by) = filter.fired_by {
        q.bind(" AND r.fired_by = ", SqlValue::Text(fired_by.as_str()), "");
    }
    if let Some(trigger) = filter.trigger_type {
        q.bind(
            " AND r.trigger_type = ",
            SqlValue::Text(trigger.as_str()),
            "",
        );
    }
    if let Some(since) = filter.since {
        q.bind(" AND r.created_at >= ", SqlValue::Int(since.0), "");
    }
    if let Some(until) = filter.until {
        q.bind(" AND r.created_at < ", SqlValue::Int(until.0), "");
    }
    q.bind(
        " ORDER BY r.id DESC LIMIT ",
        SqlValue::Int(i64::from(limit)),
        "",
    );
    q
}

/// The tenant's deliberations, with `status` if given, before `before`, newest
/// first; `seq` is the backend's insertion-order column (`rowid`, `seq`).
pub(crate) fn tenant_deliberations_query(
    sigil: char,
    seq: &str,
    workspace_id: WorkspaceId,
    environment: Environment,
    status: Option<DeliberationStatus>,
    before: Option<i64>,
    limit: u32,
) -> BuiltQuery {
    let mut q = BuiltQuery::new(
        sigil,
        &format!(
            "SELECT {seq} AS seq, id, substr(question, 1, {QUESTION_PREVIEW_CHARS}) AS question, \
             mode, status, estimate_micros, charged_micros, created_at, completed_at \
             FROM deliberations WHERE"
        ),
    );
    q.bind(" workspace_id = ", SqlValue::Int(workspace_id.0), "");
    q.bind(
        " AND environment = ",
        SqlValue::Text(environment.as_str()),
        "",
    );
    q.bind(
        &format!(" AND {seq} < "),
        SqlValue::Int(before.unwrap_or(i64::MAX)),
        "",
    );
    if let Some(status) = status {
        q.bind(" AND status = ", SqlValue::Text(status.as_str()), "");
    }
    q.bind(
        &format!(" ORDER BY {seq} DESC LIMIT "),
        SqlValue::Int(i64::from(limit)),
        "",
    );
    q
}

#[derive(sqlx::FromRow)]
pub(crate) struct RunSummaryRow {
    id: i64,
    pilot_id: i64,
    pilot_title: String,
    status: String,
    trigger_type: String,
    fired_by: String,
    error: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

from_sqlite_row!(RunSummaryRow {
    id,
    pilot_id,
    pilot_title,
    status,
    trigger_type,
    fired_by,
    error,
    created_at,
    started_at,
    finished_at
});

impl TryFrom<RunSummaryRow> for RunSummaryRecord {
    type Error = crate::StoreError;

    fn try_from(row: RunSummaryRow) -> StoreResult<Self> {
        Ok(RunSummaryRecord {
            id: RunId(row.id),
            pilot_id: PilotId(row.pilot_id),
            pilot_title: row.pilot_title,
            status: RunStatus::parse(&row.status)
                .ok_or_else(|| corrupt("runs.status", format!("unknown {:?}", row.status)))?,
            trigger_type: parsed("runs.trigger_type", &row.trigger_type)?,
            fired_by: FiredBy::parse(&row.fired_by)
                .ok_or_else(|| corrupt("runs.fired_by", format!("unknown {:?}", row.fired_by)))?,
            error: row.error,
            created_at: UnixMillis(row.created_at),
            started_at: row.started_at.map(UnixMillis),
            finished_at: row.finished_at.map(UnixMillis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliberationSummaryRow {
    seq: i64,
    id: String,
    question: String,
    mode: String,
    status: String,
    estimate_micros: i64,
    charged_micros: Option<i64>,
    created_at: i64,
    completed_at: Option<i64>,
}

from_sqlite_row!(DeliberationSummaryRow {
    seq,
    id,
    question,
    mode,
    status,
    estimate_micros,
    charged_micros,
    created_at,
    completed_at
});

impl TryFrom<DeliberationSummaryRow> for DeliberationSummaryRecord {
    type Error = crate::StoreError;

    fn try_from(row: DeliberationSummaryRow) -> StoreResult<Self> {
        Ok(DeliberationSummaryRecord {
            seq: row.seq,
            id: DeliberationId::parse(&row.id)
                .ok_or_else(|| corrupt("deliberations.id", format!("not an id: {:?}", row.id)))?,
            question: row.question,
            mode: parsed("deliberations.mode", &row.mode)?,
            status: parsed("deliberations.status", &row.status)?,
            estimate: Credits::from_micros(row.estimate_micros),
            credits_charged: row.charged_micros.map(Credits::from_micros),
            created_at: UnixMillis(row.created_at),
            completed_at: row.completed_at.map(UnixMillis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_left_out_is_left_out_of_the_sql() {
        let bare = tenant_runs_query(
            '$',
            WorkspaceId(1),
            Environment::Live,
            &TenantRunsFilter::default(),
            50,
        );
        assert!(!bare.sql.contains("AND r.status"));
        assert_eq!(bare.values.len(), 4);
        let narrowed = tenant_runs_query(
            '?',
            WorkspaceId(1),
            Environment::Live,
            &TenantRunsFilter {
                status: Some(RunStatus::Failed),
                since: Some(UnixMillis(5)),
                ..TenantRunsFilter::default()
            },
            50,
        );
        assert!(narrowed.sql.contains("AND r.status = ?4"));
        assert!(narrowed.sql.contains("AND r.created_at >= ?5"));
        assert!(narrowed.sql.ends_with("LIMIT ?6"));
        assert_eq!(narrowed.values[3], SqlValue::Text("failed"));
    }
}
