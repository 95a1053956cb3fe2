//! What the dashboard reads across a tenant: its runs over every pilot (camelCase,
//! as the Pilots surface shows runs), its deliberations (snake_case, `del_` ids,
//! RFC 3339, as the Deliberations surface shows them), its model usage by day, and
//! its ledger by page. Each page carries the cursor of the next.

use pilot_domain::{Credits, UnixMillis};
use pilot_store::{DeliberationSummaryRecord, RunSummaryRecord, UsageSummaryRow};
use serde::Serialize;
use utoipa::ToSchema;

use super::LedgerEntryView;
use super::deliberation::rfc3339;

/// A run in a list: no steps, its pilot's title.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummaryView {
    pub created_at: i64,
    /// From start to finish, once finished.
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub finished_at: Option<i64>,
    /// `api`, `webhook`, `schedule`, `email` or `retry`.
    pub fired_by: String,
    pub id: i64,
    pub pilot_id: i64,
    pub pilot_title: String,
    pub started_at: Option<i64>,
    /// `queued`, `running`, `waiting`, `success`, `failed` or `filtered`.
    pub status: String,
    /// `manual`, `webhook`, `schedule` or `email`.
    pub trigger_type: String,
}

impl RunSummaryView {
    pub fn of(run: &RunSummaryRecord) -> RunSummaryView {
        let duration_ms = match (run.started_at, run.finished_at) {
            (Some(start), Some(end)) => Some((end.0 - start.0).max(0)),
            _ => None,
        };
        RunSummaryView {
            created_at: run.created_at.as_secs(),
            duration_ms,
            error: run.error.clone(),
            finished_at: run.finished_at.map(|t| t.as_secs()),
            fired_by: run.fired_by.as_str().to_owned(),
            id: run.id.0,
            pilot_id: run.pilot_id.0,
            pilot_title: run.pilot_title.clone(),
            started_at: run.started_at.map(|t| t.as_secs()),
            status: run.status.as_str().to_owned(),
            trigger_type: run.trigger_type.as_str().to_owned(),
        }
    }
}

/// A page of the tenant's runs across its pilots, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunsPage {
    /// Pass as `before` for the next page; `null` on the last one.
    pub next_before: Option<i64>,
    pub runs: Vec<RunSummaryView>,
}

/// A deliberation in a list.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliberationSummaryView {
    pub completed_at: Option<String>,
    pub created_at: String,
    /// What was debited once terminal; `null` before.
    #[schema(value_type = Option<f64>)]
    pub credits_charged: Option<Credits>,
    /// Reserved at submission.
    #[schema(value_type = f64)]
    pub credits_reserved: Credits,
    pub id: String,
    pub mode: String,
    /// The question's first 200 characters.
    pub question: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
}

impl DeliberationSummaryView {
    pub fn of(record: &DeliberationSummaryRecord) -> DeliberationSummaryView {
        DeliberationSummaryView {
            completed_at: record.completed_at.map(rfc3339),
            created_at: rfc3339(record.created_at),
            credits_charged: record.credits_charged,
            credits_reserved: record.estimate,
            id: record.id.as_str().to_owned(),
            mode: record.mode.as_str().to_owned(),
            question: record.question.clone(),
            status: record.status.as_str().to_owned(),
        }
    }
}

/// A page of the tenant's deliberations, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliberationsPage {
    pub data: Vec<DeliberationSummaryView>,
    /// Pass as `before` for the next page (a position, not a `del_` id); `null` on
    /// the last one.
    pub next_before: Option<i64>,
}

/// One model's calls on one UTC day.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageDayView {
    pub calls: i64,
    /// What the calls cost, in credits.
    #[schema(value_type = f64)]
    pub cost: Credits,
    /// The same, exactly: micro-credits (1 credit = 1,000,000).
    pub cost_micros: i64,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub input_tokens: i64,
    pub model: String,
    pub output_tokens: i64,
    pub provider: String,
}

impl UsageDayView {
    pub fn of(row: &UsageSummaryRow) -> UsageDayView {
        UsageDayView {
            calls: row.calls,
            cost: row.cost,
            cost_micros: row.cost.micros(),
            day: utc_day(row.day),
            input_tokens: row.input_tokens,
            model: row.model.clone(),
            output_tokens: row.output_tokens,
            provider: row.provider.clone(),
        }
    }
}

/// The UTC date of `at`, `YYYY-MM-DD`.
fn utc_day(at: UnixMillis) -> String {
    let mut text = rfc3339(at);
    text.truncate(10);
    text
}

/// The tenant's model usage over its last days, per UTC day and model, oldest day
/// first; days without a call are left out.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageByDay {
    pub days: Vec<UsageDayView>,
    /// The first day counted, `YYYY-MM-DD`.
    pub since: String,
}

/// A page of the tenant's ledger, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntryView>,
    pub environment: String,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next_before: Option<i64>,
    pub workspace: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_its_utc_date() {
        assert_eq!(utc_day(UnixMillis(0)), "1970-01-01");
        assert_eq!(utc_day(UnixMillis(86_400_000 * 2 - 1)), "1970-01-02");
    }
}
