//! Deliberations as the Deliberations surface shows them (seed 003 §3–§4):
//! snake_case, `del_` ids, RFC 3339 instants, credits as numbers.

use pilot_domain::{Credits, UnixMillis};
use pilot_store::{DeliberationRecord, PanelEntry};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::checkpoint::CheckpointView;

/// An instant as the Deliberations surface writes it.
pub fn rfc3339(at: UnixMillis) -> String {
    at.to_rfc3339()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Where a deliberation's result is read: `GET /v1/api/deliberations/{id}/result`.
pub fn result_url(public_url: &str, id: &str) -> String {
    format!(
        "{}/v1/api/deliberations/{id}/result",
        public_url.trim_end_matches('/')
    )
}

/// `202` to a submission (§3).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliberationAccepted {
    pub deliberation_id: String,
    /// Reserved now; the final charge is what the calls cost, at most this.
    #[schema(value_type = f64)]
    pub estimated_credits: Credits,
    pub result_url: String,
    /// Always `queued`.
    pub status: String,
}

/// One persona answer, review, revision or the arbiter's work (`?include=panel`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PanelEntryView {
    /// The persona's name, or `arbiter` / `router`.
    pub author: String,
    #[schema(value_type = Object)]
    pub content: Value,
    pub created_at: String,
    /// `answer`, `review`, `revision`, `synthesis` or `routed`.
    pub stage: String,
}

impl PanelEntryView {
    pub fn of(entry: &PanelEntry) -> PanelEntryView {
        PanelEntryView {
            author: entry.author.clone(),
            content: entry.content.clone(),
            created_at: rfc3339(entry.created_at),
            stage: entry.stage.clone(),
        }
    }
}

/// A panel entry as progress reports it: who answered and when, without what (the
/// panel itself is `?include=panel`'s).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PanelProgressView {
    pub author: String,
    pub created_at: String,
}

/// A deliberation's status as progress reports it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StatusView {
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
}

/// The status-only shape while `queued` or `running` (§4).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PendingView {
    /// A `deliberation2` waiting for a person: the checkpoint to answer (it stays
    /// `running` meanwhile). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointView>,
    pub created_at: String,
    pub id: String,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panel: Option<Vec<PanelEntryView>>,
    /// `queued` or `running`.
    pub status: String,
    pub updated_at: String,
    pub use_case: String,
}

/// A failed deliberation's reason (§4): `processing_timeout` or `processing_failed`;
/// and `checkpoint_expired` for a `deliberation2` left unanswered at a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliberationError {
    pub code: String,
    pub message: String,
}

/// The full payload once `completed` or `failed` (§4).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TerminalView {
    pub completed_at: Option<String>,
    pub confidence_index: Option<f64>,
    pub created_at: String,
    /// What was debited: the metered cost, at most the reservation; 0 after a full
    /// refund.
    #[schema(value_type = f64)]
    pub credits_charged: Credits,
    pub degraded: Option<bool>,
    pub error: Option<DeliberationError>,
    pub id: String,
    pub minority_report: Option<String>,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panel: Option<Vec<PanelEntryView>>,
    /// `completed` or `failed`.
    pub status: String,
    pub summary: Option<String>,
    /// The arbiter's synthesis, in markdown.
    pub synthesis: Option<String>,
    pub updated_at: String,
    pub use_case: String,
}

/// A deliberation as `GET /v1/api/deliberations/{id}` reads: pending (`202`) or
/// terminal (`200`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DeliberationView {
    Pending(PendingView),
    Terminal(TerminalView),
}

impl DeliberationView {
    /// The record's view, with the panel when given.
    pub fn of(record: &DeliberationRecord, panel: Option<Vec<PanelEntryView>>) -> Self {
        if record.status.is_terminal() {
            DeliberationView::Terminal(TerminalView::of(record, panel))
        } else {
            DeliberationView::Pending(PendingView {
                checkpoint: None,
                created_at: rfc3339(record.created_at),
                id: record.id.as_str().to_owned(),
                mode: record.mode.as_str().to_owned(),
                panel,
                status: record.status.as_str().to_owned(),
                updated_at: rfc3339(record.updated_at),
                use_case: record.use_case.as_str().to_owned(),
            })
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, DeliberationView::Terminal(_))
    }

    /// The checkpoint waiting for an answer, if any.
    pub fn checkpoint(&self) -> Option<&CheckpointView> {
        match self {
            DeliberationView::Pending(pending) => pending.checkpoint.as_ref(),
            DeliberationView::Terminal(_) => None,
        }
    }
}

impl TerminalView {
    pub fn of(record: &DeliberationRecord, panel: Option<Vec<PanelEntryView>>) -> TerminalView {
        let result = record.result.as_ref();
        TerminalView {
            completed_at: record.completed_at.map(rfc3339),
            confidence_index: result.map(|r| r.confidence_index),
            created_at: rfc3339(record.created_at),
            credits_charged: record.credits_charged.unwrap_or(Credits::ZERO),
            degraded: result.map(|r| r.degraded),
            error: record.failure.map(|code| DeliberationError {
                code: code.as_str().to_owned(),
                message: code.message().to_owned(),
            }),
            id: record.id.as_str().to_owned(),
            minority_report: result.and_then(|r| r.minority_report.clone()),
            mode: record.mode.as_str().to_owned(),
            panel,
            status: record.status.as_str().to_owned(),
            summary: result.map(|r| r.summary.clone()),
            synthesis: result.map(|r| r.synthesis.clone()),
            updated_at: rfc3339(record.updated_at),
            use_case: record.use_case.as_str().to_owned(),
        }
    }
}
