//! The bodies deliveries carry, field for field as the documents show them.
//!
//! The Deliberations document §5: `{"id", "event", "created_at", "data"}` with the
//! deliberation's `deliberation_id`, `status`, `mode`, `use_case`, `result_url`,
//! `completed_at`, `credits_charged` and `metadata` (echoed verbatim) — never the
//! synthesis or the error detail. Run events use the same envelope with the
//! Pilots surface's own field names and instants (camelCase, Unix seconds).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credits::Credits;

/// The envelope: one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventBody<D> {
    /// `evt_…`, the same on every attempt.
    pub id: String,
    pub event: String,
    /// RFC 3339, UTC, whole seconds.
    pub created_at: String,
    pub data: D,
}

/// `deliberation.completed` / `deliberation.failed`'s `data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliberationEventData {
    pub deliberation_id: String,
    pub status: String,
    pub mode: String,
    pub use_case: String,
    /// Added when the body is sent: it depends on the server's public URL, which the
    /// store that records the event does not know.
    #[serde(default)]
    pub result_url: String,
    pub completed_at: String,
    pub credits_charged: Credits,
    /// The submission's, verbatim (key order included), or `null`.
    pub metadata: Option<Value>,
}

/// `run.completed` / `run.failed`'s `data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEventData {
    pub run_id: i64,
    pub pilot_id: i64,
    /// `success`, `filtered` or `failed`.
    pub status: String,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// Unix seconds, as the Pilots surface shows instants.
    pub finished_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_deliberation_body_is_the_documents_shape_in_its_order() {
        let stored = json!({
            "deliberation_id": "del_01HXYZ",
            "status": "completed",
            "mode": "deliberation1",
            "use_case": "pricing",
            "completed_at": "2026-04-29T10:04:12Z",
            "credits_charged": 3.87,
            "metadata": {"z": 1, "order_id": "ord_123"},
        });
        let mut data: DeliberationEventData = serde_json::from_value(stored).unwrap();
        data.result_url = "https://pilot.example/v1/api/deliberations/del_01HXYZ/result".into();
        let body = EventBody {
            id: "evt_1".into(),
            event: "deliberation.completed".into(),
            created_at: "2026-04-29T10:04:12Z".into(),
            data,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            concat!(
                r#"{"id":"evt_1","event":"deliberation.completed","created_at":"2026-04-29T10:04:12Z","#,
                r#""data":{"deliberation_id":"del_01HXYZ","status":"completed","mode":"deliberation1","#,
                r#""use_case":"pricing","result_url":"https://pilot.example/v1/api/deliberations/del_01HXYZ/result","#,
                r#""completed_at":"2026-04-29T10:04:12Z","credits_charged":3.87,"#,
                r#""metadata":{"z":1,"order_id":"ord_123"}}}"#
            )
        );
    }
}
