//! What a step list asks of the key that sets it, beyond `pilots:write`.
//!
//! A `deliberate` step runs a deliberation (and reserves its credits) every time the
//! pilot runs, so setting one — creating a pilot whose steps, sent or drafted, hold
//! one, or patching them in — takes the scope `POST /v1/api/deliberations` takes:
//! `deliberations:write`. The key that sets a pilot's steps is recorded with them,
//! and each run is authorised by it (see `pilot_store::RunRecord::authorized_key_id`).

use pilot_domain::{Principal, Scope, StepKind, Steps};

use crate::error::OpError;

/// `403 insufficient_scope` when `steps` hold a `deliberate` step and `who` lacks
/// `deliberations:write`.
pub fn require(who: &Principal, steps: &Steps) -> Result<(), OpError> {
    let deliberates = steps
        .as_slice()
        .iter()
        .find(|step| matches!(step.kind, StepKind::Deliberate(_)));
    match deliberates {
        Some(step) if !who.allows(Scope::DeliberationsWrite) => Err(OpError::forbidden(format!(
            "Step {} is a deliberate step, which runs deliberations: this API key lacks \
             the {} scope.",
            step.id,
            Scope::DeliberationsWrite
        ))),
        _ => Ok(()),
    }
}
