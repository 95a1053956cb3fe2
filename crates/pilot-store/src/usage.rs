//! Model usage: what [`UsageStore`](crate::UsageStore) takes and hands back, and the
//! row decoding both backends share.
//!
//! Rows are appended, never changed (a trigger refuses `UPDATE` and `DELETE` on both
//! backends). Summaries group by UTC day — `created_at` divided by 86,400,000, the
//! same integer arithmetic on both backends — and by model.

use crate::row_decode::from_sqlite_row;
use pilot_domain::{Credits, Environment, UnixMillis, WorkspaceId};

/// Milliseconds in a UTC day.
pub const DAY_MS: i64 = 86_400_000;

/// Which usage to summarize.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageQuery {
    /// Calls at or after this instant.
    pub since: UnixMillis,
    /// One workspace's calls only; `None` for every call (operator calls included).
    pub workspace_id: Option<WorkspaceId>,
    pub environment: Option<Environment>,
}

impl UsageQuery {
    /// Every call at or after `since`.
    pub fn since(since: UnixMillis) -> UsageQuery {
        UsageQuery {
            since,
            workspace_id: None,
            environment: None,
        }
    }
}

/// Calls of one model on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageSummaryRow {
    /// The day's first millisecond (UTC midnight).
    pub day: UnixMillis,
    pub provider: String,
    pub model: String,
    pub calls: i64,
    /// Calls whose tokens are the estimate (the provider reported none).
    pub estimated_calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost: Credits,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryRow {
    day: i64,
    provider: String,
    model: String,
    calls: i64,
    estimated_calls: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_micros: i64,
}

from_sqlite_row!(SummaryRow {
    day,
    provider,
    model,
    calls,
    estimated_calls,
    input_tokens,
    output_tokens,
    cost_micros
});

impl From<SummaryRow> for UsageSummaryRow {
    fn from(row: SummaryRow) -> Self {
        UsageSummaryRow {
            day: UnixMillis(row.day.saturating_mul(DAY_MS)),
            provider: row.provider,
            model: row.model,
            calls: row.calls,
            estimated_calls: row.estimated_calls,
            input_tokens: row.input_tokens,
            output_tokens: row.output_tokens,
            cost: Credits::from_micros(row.cost_micros),
        }
    }
}
