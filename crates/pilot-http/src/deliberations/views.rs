//! How deliberations read (§4): snake_case, `del_` ids, RFC 3339 instants.

use pilot_domain::{Credits, DeliberationStatus, UnixMillis};
use pilot_store::{DeliberationRecord, PanelEntry};
use serde_json::{Value, json};

pub fn rfc3339(at: UnixMillis) -> String {
    at.to_rfc3339()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

pub fn result_url(public_url: &str, id: &str) -> String {
    format!(
        "{}/v1/api/deliberations/{id}/result",
        public_url.trim_end_matches('/')
    )
}

/// The status-only shape while `queued` or `running`.
pub fn pending(record: &DeliberationRecord) -> Value {
    json!({
        "id": record.id.as_str(),
        "status": record.status.as_str(),
        "mode": record.mode.as_str(),
        "use_case": record.use_case.as_str(),
        "created_at": rfc3339(record.created_at),
        "updated_at": rfc3339(record.updated_at),
    })
}

/// The full payload on `completed` or `failed`.
pub fn terminal(record: &DeliberationRecord) -> Value {
    let result = record.result.as_ref();
    let error = record
        .failure
        .map(|code| json!({"code": code.as_str(), "message": code.message()}));
    json!({
        "id": record.id.as_str(),
        "status": record.status.as_str(),
        "synthesis": result.map(|r| r.synthesis.clone()),
        "summary": result.map(|r| r.summary.clone()),
        "confidence_index": result.map(|r| r.confidence_index),
        "minority_report": result.and_then(|r| r.minority_report.clone()),
        "degraded": result.map(|r| r.degraded),
        "mode": record.mode.as_str(),
        "use_case": record.use_case.as_str(),
        "credits_charged": record.credits_charged.unwrap_or(Credits::ZERO),
        "error": error,
        "created_at": rfc3339(record.created_at),
        "updated_at": rfc3339(record.updated_at),
        "completed_at": record.completed_at.map(rfc3339),
    })
}

pub fn is_terminal(record: &DeliberationRecord) -> bool {
    matches!(
        record.status,
        DeliberationStatus::Completed | DeliberationStatus::Failed
    )
}

pub fn panel_entry(entry: &PanelEntry) -> Value {
    json!({
        "stage": entry.stage,
        "author": entry.author,
        "content": entry.content,
        "created_at": rfc3339(entry.created_at),
    })
}
