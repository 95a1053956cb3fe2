//! A `deliberation2`'s open checkpoint, as a pending deliberation shows it: what the
//! panel has done, what the person may choose, and the same choices as a flat form.

use pilot_domain::CheckpointOffer;
use pilot_domain::checkpoint::{DraftBrief, PersonaChoice, PositionBrief};
use pilot_store::CheckpointRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::deliberation::rfc3339;

// Also `Deserialize`: MCP reads it back from a tool result to ask for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckpointView {
    /// `answers`: personas that may be added.
    pub addable: Vec<PersonaChoice>,
    /// `synthesis`: whether the draft may still be sent back.
    pub can_send_back: bool,
    /// `synthesis`: the arbiter's draft.
    pub draft: Option<DraftBrief>,
    /// Unanswered by then, the deliberation fails `checkpoint_expired`, refunded.
    pub expires_at: String,
    /// The choices as a JSON schema of flat fields (`keep_<persona>`, …): what an MCP
    /// elicitation asks.
    #[schema(value_type = Object)]
    pub form: Value,
    /// `chk_…`: what an answer names.
    pub id: String,
    /// `answers`, `reviews` or `synthesis`.
    pub kind: String,
    /// `answers`: the fewest personas the panel may keep.
    pub min_panel: usize,
    pub positions: Vec<PositionBrief>,
    pub prompt: String,
    /// 1 for the first checkpoint, then 2, 3 …
    pub seq: i32,
    /// `reviews`: the positions the panel would revise on its own.
    pub suggested: Vec<String>,
}

impl CheckpointView {
    /// The view of `record`, whose offer is `offer`.
    pub fn of(record: &CheckpointRecord, offer: CheckpointOffer) -> CheckpointView {
        CheckpointView {
            form: offer.form_schema(),
            addable: offer.addable,
            can_send_back: offer.can_send_back,
            draft: offer.draft,
            expires_at: rfc3339(record.expires_at),
            id: record.id.clone(),
            kind: offer.kind.as_str().to_owned(),
            min_panel: offer.min_panel,
            positions: offer.positions,
            prompt: offer.prompt,
            seq: record.seq,
            suggested: offer.suggested,
        }
    }
}
